"""Loading the plugins imports each step family's registration and schemas, not its code.

A family's ``__init__`` registers its steps with ``run=lazy_step("module:function")`` and
takes their schemas from a schema module (``schema.py``, ``schemas.py`` or ``*_schema.py``):
every command loads every family, so anything else it imports slows every start.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

FAMILIES = [
    "users",
    "system",
    "git",
    "packages",
    "services",
]

# Loads every plugin as a command does, then lists what of corral_plugins got imported.
_LOAD = """
import json, sys
from corral.plugins import build_registry, make_plugin_manager
build_registry(make_plugin_manager())
print(json.dumps(sorted(name for name in sys.modules if name.startswith("corral_plugins."))))
"""


def _is_schema_module(name: str) -> bool:
    return name in {"schema", "schemas"} or name.endswith("_schema")


@pytest.fixture(scope="module")
def loaded_at_start() -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", _LOAD], capture_output=True, text=True, check=True, timeout=120
    )
    names: list[str] = json.loads(done.stdout)
    return names


@pytest.mark.parametrize("family", FAMILIES)
def test_loading_a_family_imports_only_its_schemas(family: str, loaded_at_start: list[str]) -> None:
    prefix = f"corral_plugins.{family}."
    modules = [name.removeprefix(prefix) for name in loaded_at_start if name.startswith(prefix)]
    assert [name for name in modules if not _is_schema_module(name)] == []
