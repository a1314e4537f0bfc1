"""The Ansible collections that ansible-playbook needs for the baseline playbook's modules.

ansible-core (the dev extra) ships only ``ansible.builtin``; ``authorized_key`` and
``sysctl`` live in ``ansible.posix``, ``timezone`` in ``community.general``. Galaxy is not
reachable here, PyPI is: the ``ansible`` package that matches ansible-core 2.19 bundles
them, so its wheel is fetched once with pip and only those collections are unpacked into
``$CORRAL_TEST_CACHE`` (default ``~/.cache/corral-tests``). Point
``ANSIBLE_COLLECTIONS_PATH`` at :func:`collections_path`.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

ANSIBLE = "ansible==12.3.0"  # the release of the community package built on ansible-core 2.19
COLLECTIONS = ("ansible/posix", "community/general")


def cache_dir() -> Path:
    configured = os.environ.get("CORRAL_TEST_CACHE")
    path = Path(configured) if configured else Path.home() / ".cache" / "corral-tests"
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def collections_path() -> Path:
    """A directory holding ``ansible_collections/{ansible/posix,community/general}``."""
    target = cache_dir() / f"collections-{ANSIBLE.replace('==', '-')}"
    if (target / "ansible_collections").is_dir():
        return target
    with _locked(target.with_name(f"{target.name}.lock")):
        if not (target / "ansible_collections").is_dir():
            _unpack(target)
    return target


def _unpack(target: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="corral-ansible-") as scratch:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", ANSIBLE,
             "-d", scratch],
            check=True, capture_output=True, timeout=600,
        )  # fmt: skip
        wheel = next(Path(scratch).glob("ansible-*.whl"))
        partial = Path(scratch) / "partial"
        prefixes = tuple(f"ansible_collections/{name}/" for name in COLLECTIONS)
        with zipfile.ZipFile(wheel) as archive:
            members = [n for n in archive.namelist() if n.startswith(prefixes)]
            archive.extractall(partial, members)
        shutil.rmtree(target, ignore_errors=True)
        shutil.move(partial, target)  # whole or not at all
