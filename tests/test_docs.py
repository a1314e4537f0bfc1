"""Meta-tests that keep the plugin author's guide honest."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from corral import hookspecs

ROOT = Path(__file__).resolve().parent.parent
GUIDE = (ROOT / "docs" / "plugins.md").read_text()
HOOKS = sorted(
    (name, fn)
    for name, fn in vars(hookspecs).items()
    if name.startswith("corral_") and inspect.isfunction(fn)
)


def test_there_are_hooks():
    assert len(HOOKS) >= 7


@pytest.mark.parametrize(("name", "fn"), HOOKS, ids=[n for n, _ in HOOKS])
def test_hookspec_docstring_names_every_argument(name, fn):
    doc = inspect.getdoc(fn)
    assert doc, f"{name} has no docstring"
    for arg in inspect.signature(fn).parameters:
        assert f":param {arg}:" in doc, f"{name}'s docstring does not describe {arg!r}"
    assert "*Called:*" in doc
    assert "*Returns:*" in doc


@pytest.mark.parametrize(("name", "fn"), HOOKS, ids=[n for n, _ in HOOKS])
def test_hook_has_a_section_with_its_exact_signature(name, fn):
    args = ", ".join(inspect.signature(fn).parameters)
    heading = re.compile(rf"^#+ `{name}\({re.escape(args)}\)`$", re.MULTILINE)
    assert heading.search(GUIDE), f"docs/plugins.md needs a heading `{name}({args})`"


@pytest.mark.parametrize(("name", "fn"), HOOKS, ids=[n for n, _ in HOOKS])
def test_hook_has_a_test(name, fn):
    sources = "\n".join(p.read_text() for p in (ROOT / "tests").glob("test_*.py"))
    assert f"def test_hook_{name}(" in sources, f"write a test named test_hook_{name}"


def _builtin_steps():
    from corral.plugins import build_registry, make_plugin_manager

    registry = build_registry(make_plugin_manager({}))
    return sorted(
        {
            s.name: s
            for s in registry.steps.values()
            if s.plugin and registry_is_builtin(registry, s.plugin)
        }.values(),
        key=lambda s: s.name,
    )


def registry_is_builtin(registry, plugin: str) -> bool:
    return any(info.name == plugin and info.builtin for info in registry.plugins)


STEPS = _builtin_steps()


@pytest.mark.parametrize("step", STEPS, ids=[s.name for s in STEPS])
def test_every_step_type_has_a_docs_page_naming_it(step):
    family = step.name.split(".", 1)[0]
    page = ROOT / "docs" / "steps" / f"{family}.md"
    assert page.is_file(), f"write docs/steps/{family}.md"
    assert f"`{step.name}`" in page.read_text(), f"{page.name} does not mention `{step.name}`"


def _properties(schema, path=""):
    for name, prop in (schema.get("properties") or {}).items():
        yield f"{path}{name}", prop
        if isinstance(prop, dict) and prop.get("type") == "object":
            yield from _properties(prop, f"{path}{name}.")


@pytest.mark.parametrize("step", STEPS, ids=[s.name for s in STEPS])
def test_every_step_argument_has_a_description(step):
    from jsonschema import Draft202012Validator

    Draft202012Validator.check_schema(step.schema)
    missing = [name for name, prop in _properties(step.schema) if not prop.get("description")]
    assert not missing, f"{step.name}: arguments without a description: {missing}"
    assert step.description, f"{step.name} has no one-line description"
