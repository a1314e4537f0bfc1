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

# How pytest-xdist (``-n N --dist loadgroup``) spreads the tests: a file's tests stay
# together, as with ``--dist loadfile``, because many files compute all their cases once
# in a module fixture (the Ansible differentials run every case in one thread pool, a
# module's Debian hosts are set up for its tests in turn) and would repeat that, or see
# another worker's half, elsewhere. The files with tests on the session's Debian hosts go
# to one worker together: each worker would otherwise start its own dockerd and import
# the Debian image again. (The busybox ``dockerd`` is per module: a file is enough.)
_DEBIAN_FIXTURES = frozenset({"debian_dockerd", "debian_fleet", "module_debian_fleet"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    debian_files = {
        item.nodeid.split("::", 1)[0]
        for item in items
        if _DEBIAN_FIXTURES.intersection(getattr(item, "fixturenames", ()))
    }
    for item in items:
        path = item.nodeid.split("::", 1)[0]
        item.add_marker(pytest.mark.xdist_group("debian" if path in debian_files else path))
