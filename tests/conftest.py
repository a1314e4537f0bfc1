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

# Tests on the same private dockerd run on one pytest-xdist worker (``--dist loadgroup``):
# each worker would otherwise start its own dockerd and import the Debian image again,
# and the containers' start-up would compete for the same two cores.
_DOCKER_GROUPS = {
    "debian_dockerd": "debian",
    "debian_fleet": "debian",
    "module_debian_fleet": "debian",
    "dockerd": "dockerd",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        for fixture in getattr(item, "fixturenames", ()):
            group = _DOCKER_GROUPS.get(fixture)
            if group:
                item.add_marker(pytest.mark.xdist_group(group))
                break
