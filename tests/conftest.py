"""Shared fixtures. The ``corral_project`` fixture comes from corral.testing (pytest11)."""

from __future__ import annotations

import compileall
import os
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
ROOT = Path(__file__).resolve().parent.parent


def pytest_configure(config: pytest.Config) -> None:
    """Compile corral's own sources to bytecode once, before the tests start.

    The tests start ``corral`` (and ``corral serve``, workers...) as subprocesses a few
    thousand times. Under PYTHONDONTWRITEBYTECODE (set where CI runs) an editable install's sources
    never get a ``__pycache__``, so each of those processes compiled every module it
    imported: about 0.2 s of CPU each, twice the cost of the run itself. pip compiled
    the installed dependencies already. Done by the controller only, not by each xdist
    worker; a no-op when the bytecode is current.
    """
    if hasattr(config, "workerinput"):
        return
    for package in ("core", "plugins"):
        compileall.compile_dir(ROOT / package, quiet=1)


def need(condition: bool, reason: str) -> None:
    """Skip when a real service cannot run here; under CI=true, fail instead."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required service unavailable under CI=true: {reason}")
    pytest.skip(reason)


# Real Debian hosts (debian_fleet, module_debian_fleet, and the dockerd they run on), a
# real `corral serve` (served), and Debian's Chromium for the web UI (browser, page, ...).
pytest_plugins = ["debian_hosts", "served", "browser"]


@pytest.fixture(autouse=True)
def _no_vault_passwords_left_over() -> None:
    """Each test starts with no vault password set in this process.

    A command keeps the passwords it was given for the rest of its process (one command
    runs per process); in-process test runs would hand them on to the next test that
    reads vault data without a command, as a test running after them on the same worker.
    """
    import sys

    vault = sys.modules.get("corral.vault")
    if vault is not None:
        vault.use_vault(vault.VaultSecrets())
        vault.configure(vault.VaultConfig())
