"""Shared fixtures. The ``corral_project`` fixture comes from corral.testing (pytest11)."""

from __future__ import annotations

import os

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


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
