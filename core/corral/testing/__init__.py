"""Pytest fixtures for testing corral plugins and playbooks (a ``pytest11`` plugin).

Installed with corral, so a plugin's test suite gets them with no set-up::

    def test_greets(corral_project):
        corral_project.write("site.yml", PLAYBOOK)
        result = corral_project.run("run", "site.yml")
        assert result.exit_code == 0
        result.fnmatch_lines(["*TASK [greet]*", "*ok: [localhost]*"])

``run`` calls the CLI in-process with a fresh plugin manager (plus any objects
appended to ``corral_project.plugins``); ``run_subprocess`` runs the installed
``corral`` executable, as a user would.

The fixtures live in :mod:`corral.testing.fixtures` (the module pytest loads), the
simulated connection in :mod:`corral.testing.simulated` (an entry-point plugin, loaded on
every ``corral`` command). This package imports neither until a name is asked for, so
loading the connection does not import pytest.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["CliResult", "CorralProject", "corral_project"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("corral.testing.fixtures"), name)
    raise AttributeError(f"module 'corral.testing' has no attribute {name!r}")
