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
