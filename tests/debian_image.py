"""A Debian 12 root filesystem for the test hosts, built once by debootstrap and cached.

Two images, named by :data:`RECIPES`' keys:

- ``"base"`` (:data:`RECIPE`): a minimal Debian with sshd, sudo, python3, systemd, cron
  and the ``deploy`` user;
- ``"services"``: the base plus PostgreSQL 15 (server and client, with no cluster: the
  package's ``15/main`` is dropped, tests create theirs with ``pg_createcluster`` on the
  address and port they need), HAProxy, python3-psycopg2, rsync and openssl, for the
  service playbooks (backup, restore drill, DR failover, load balancer).

Each tarball lives in ``$CORRAL_TEST_CACHE`` (default ``~/.cache/corral-tests``) under a
name holding the hash of its recipe, so it is rebuilt only when the recipe changes.
A lock file serialises builders: concurrent test runs wait for the first one's tarball
instead of building their own. :func:`import_image` loads the tarball into a dockerd.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dockerd import unmount_below

SUITE = "bookworm"
PACKAGES = (
    "openssh-server", "sudo", "python3", "systemd-sysv", "dbus", "ca-certificates",
    "cron", "procps", "locales", "kmod",
)  # fmt: skip
USER = "deploy"
USER_UID = 1000
# Run in the new root (chroot) after debootstrap. sshd's port and address are not set
# here: each container gets its own drop-in (the image must never listen on port 22,
# as containers share the host's network).
SETUP = f"""set -eu
useradd --uid {USER_UID} --create-home --shell /bin/bash --groups sudo {USER}
usermod --password '*' {USER}
install -d -m 700 -o {USER} -g {USER} /home/{USER}/.ssh
install -m 600 -o {USER} -g {USER} /dev/null /home/{USER}/.ssh/authorized_keys
printf '%s\\n' '{USER} ALL=(ALL:ALL) NOPASSWD: ALL' 'Defaults:{USER} !requiretty' \\
  > /etc/sudoers.d/{USER}
chmod 440 /etc/sudoers.d/{USER}
visudo -c >/dev/null
ssh-keygen -A
mkdir -p /run/sshd
sed -i 's/^# *en_US.UTF-8 UTF-8/en_US.UTF-8 UTF-8/' /etc/locale.gen
locale-gen >/dev/null
echo debian > /etc/hostname
apt-get clean
"""
RECIPE = {"suite": SUITE, "variant": "minbase", "packages": PACKAGES, "setup": SETUP}
SERVICE_PACKAGES = (
    "postgresql", "postgresql-client", "haproxy", "python3-psycopg2", "rsync", "openssl",
)  # fmt: skip
# The package creates and would start a 15/main cluster on port 5432: containers share
# the host's network, so each test makes its own cluster on its host's address instead.
SERVICE_SETUP = """set -eu
pg_dropcluster 15 main
apt-get clean
"""
RECIPES: dict[str, dict[str, Any]] = {
    "base": RECIPE,
    "services": RECIPE | {"packages": PACKAGES + SERVICE_PACKAGES, "setup": SETUP + SERVICE_SETUP},
}
SOURCES = Path("/etc/apt/sources.list.d/debian.sources")
DEFAULT_MIRROR = "http://deb.debian.org/debian"


def recipe(image: str = "base") -> dict[str, Any]:
    if image not in RECIPES:
        raise ValueError(f"no Debian test image {image!r}: one of {', '.join(RECIPES)}")
    return RECIPES[image]


def recipe_hash(image: str = "base") -> str:
    return hashlib.sha256(json.dumps(recipe(image), sort_keys=True).encode()).hexdigest()[:16]


def _stem(image: str) -> str:
    """``bookworm-<hash>`` for the base image (its name before variants existed)."""
    variant = "" if image == "base" else f"{image}-"
    return f"{SUITE}-{variant}{recipe_hash(image)}"


def image_tag(image: str = "base") -> str:
    return f"corral-test/debian:{_stem(image)}"


def cache_dir() -> Path:
    configured = os.environ.get("CORRAL_TEST_CACHE")
    path = Path(configured) if configured else Path.home() / ".cache" / "corral-tests"
    path.mkdir(parents=True, exist_ok=True)
    return path


def mirror() -> str:
    """The Debian archive this machine's apt uses (the first ``URIs:`` of debian.sources)."""
    with contextlib.suppress(OSError):
        for line in SOURCES.read_text().splitlines():
            if line.startswith("URIs:") and line.split()[1:]:
                return line.split()[1]
    return DEFAULT_MIRROR


def unavailable_reason(image: str = "base") -> str | None:
    """Why the root filesystem cannot be built here, or None when it can."""
    if os.geteuid() != 0:
        return "building the Debian root filesystem needs root"
    if shutil.which("debootstrap") is None and not rootfs_tarball(image).exists():
        return "debootstrap not found: run scripts/install-test-services"
    return None


def rootfs_tarball(image: str = "base") -> Path:
    return cache_dir() / f"debian-{_stem(image)}.tar"


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_rootfs(image: str = "base") -> Path:
    """The cached root filesystem tarball, built first if missing (one builder at a time)."""
    tarball = rootfs_tarball(image)
    if tarball.exists():
        return tarball
    with _locked(tarball.with_suffix(".lock")):
        if not tarball.exists():  # another builder may have finished while we waited
            _build(tarball, recipe(image))
    return tarball


def _build(tarball: Path, recipe: dict[str, Any]) -> None:
    work = tarball.with_name(f"{tarball.stem}.build-{os.getpid()}")
    rootfs = work / "rootfs"
    work.mkdir()
    partial = tarball.with_name(f"{tarball.name}.{os.getpid()}.partial")
    try:
        argv = ["debootstrap", f"--variant={recipe['variant']}",
                f"--include={','.join(recipe['packages'])}", recipe["suite"], str(rootfs),
                mirror()]  # fmt: skip
        _run(argv, work / "debootstrap.log")
        _run(["chroot", str(rootfs), "/bin/sh", "-c", recipe["setup"]], work / "setup.log")
        with partial.open("wb") as out:
            subprocess.run(["tar", "-C", str(rootfs), "--numeric-owner", "-c", "."],
                           stdout=out, check=True, timeout=600)  # fmt: skip
        partial.replace(tarball)
    finally:
        partial.unlink(missing_ok=True)
        unmount_below(rootfs)
        shutil.rmtree(work, ignore_errors=True)


def _run(argv: list[str], log: Path) -> None:
    with log.open("wb") as out:
        done = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, timeout=1800, check=False)
    if done.returncode != 0:
        tail = log.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"{argv[0]} failed ({done.returncode}):\n{tail}")


def import_image(client: Any, image: str = "base") -> str:
    """Import the cached root filesystem into the daemon behind ``client``; its tag."""
    tag = image_tag(image)
    if client.images.list(name=tag):
        return tag
    repository, version = tag.rsplit(":", 1)
    tarball = ensure_rootfs(image)
    client.api.import_image_from_file(str(tarball), repository=repository, tag=version)
    return tag
