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


# Real Debian hosts (debian_fleet, module_debian_fleet, and the dockerd they run on).
pytest_plugins = ["debian_hosts", "served"]

# How pytest-xdist (``-n N --dist loadgroup``) spreads the tests: a file's tests stay
# together, as with ``--dist loadfile``, because many files compute all their cases once
# in a module fixture (the Ansible differentials run every case in one thread pool) and
# would repeat that on each worker. Tests on the same private dockerd go to one worker
# whatever their file: each worker would otherwise start its own dockerd and import the
# Debian image again.
_DOCKER_GROUPS = {
    "debian_dockerd": "debian",
    "debian_fleet": "debian",
    "module_debian_fleet": "debian",
    "dockerd": "dockerd",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        groups = [_DOCKER_GROUPS[name] for name in fixtures if name in _DOCKER_GROUPS]
        group = groups[0] if groups else item.nodeid.split("::", 1)[0]
        item.add_marker(pytest.mark.xdist_group(group))
