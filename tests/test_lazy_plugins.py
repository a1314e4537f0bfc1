"""Loading the plugins imports each step family's registration and schemas, not its code.

A family's ``__init__`` registers its steps with ``run=lazy_step("module:function")`` and
takes their schemas from a schema module (``schema.py``, ``schemas.py`` or ``*_schema.py``):
every command loads every family, so anything else it imports slows every start.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from corral import StepContext, lazy_step
from corral.testing.simulated import SimulatedConnection

FAMILIES = [
    "fileops",
    "files",
    "http",
    "users",
    "system",
    "git",
    "packages",
    "services",
    "triggers",
]

# Loads FAMILY alone after no plugin at all, and lists the modules it added: what the family
# itself costs at start-up, whatever the other families import (notify takes describe_error
# and the TLS helpers from http.request and http.tls, ssh takes parse_mode from
# files.attributes).
_LOAD = """
import json, sys
from importlib.metadata import distribution
from corral.plugins import build_registry, make_plugin_manager
family = sys.argv[1]
alone = {"CORRAL_DISABLE_PLUGIN_AUTOLOAD": "1"}
build_registry(make_plugin_manager(alone))
distribution("corral").metadata  # as loading any entry point does (the email parser)
before = set(sys.modules)
registry = build_registry(make_plugin_manager({**alone, "CORRAL_PLUGINS": family}))
assert {t.plugin for t in [*registry.steps.values(), *registry.triggers.values()]} == {family}
print(json.dumps(sorted(set(sys.modules) - before)))
"""


def _is_schema_module(name: str) -> bool:
    return name in {"schema", "schemas"} or name.endswith("_schema")


def _is_registration(module: str) -> bool:
    """A family's ``__init__`` or schema module (its own or another family's), or the core."""
    if module.startswith("corral."):
        return True
    parts = module.split(".")
    return parts[0] == "corral_plugins" and (len(parts) <= 2 or _is_schema_module(parts[-1]))


@pytest.mark.parametrize("family", FAMILIES)
def test_loading_a_family_imports_only_its_schemas(family: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _LOAD, family],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    added: list[str] = json.loads(done.stdout)
    assert [module for module in added if not _is_registration(module)] == []


def test_lazy_step_imports_its_module_on_the_first_call_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "corral_lazy_probe.py").write_text(
        "CALLS = []\n"
        "def greet(ctx, args):\n"
        "    CALLS.append(args)\n"
        "    return 'hello ' + args['name']\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    run = lazy_step("corral_lazy_probe:greet")
    assert "corral_lazy_probe" not in sys.modules
    assert run.__name__ == "greet"
    ctx = StepContext("web01", {}, SimulatedConnection("web01", rtt=0))
    assert run(ctx, {"name": "ops"}) == "hello ops"
    assert run(ctx, {"name": "dev"}) == "hello dev"
    assert sys.modules["corral_lazy_probe"].CALLS == [{"name": "ops"}, {"name": "dev"}]
    monkeypatch.delitem(sys.modules, "corral_lazy_probe")


def test_lazy_step_wants_module_and_function() -> None:
    with pytest.raises(ValueError, match="wants 'module:function'"):
        lazy_step("corral_plugins.files.content")
