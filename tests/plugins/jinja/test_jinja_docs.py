"""docs/templating.md stays honest: every filter, test, lookup (Jinja2's and the jinja
plugin's) and global is documented, and every example that shows a result renders to it."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest
from jinja2.filters import FILTERS as JINJA_FILTERS
from jinja2.tests import TESTS as JINJA_TESTS
from jinja_templar import jinja_functions, jinja_templar

DOC = Path(__file__).resolve().parents[3] / "docs" / "templating.md"
EXAMPLE = re.compile(r"`(\{\{.*?\}\})` → `(.*?)`\s*\|\s*$")


def _sections() -> dict[str, str]:
    parts = re.split(r"^## ", DOC.read_text(encoding="utf-8"), flags=re.MULTILINE)
    return {part.splitlines()[0].strip(): part for part in parts[1:]}


def _documented_names(section: str) -> set[str]:
    names: set[str] = set()
    for line in _sections()[section].splitlines():
        if line.startswith("| `"):
            first_cell = line.split(" | ")[0]
            names.update(re.findall(r"`([^`]+)`", first_cell))
    return names


def _plugin_names(kind: str) -> set[str]:
    return {f.name for f in jinja_functions() if f.kind == kind}


@pytest.mark.parametrize(
    ("section", "names"),
    [
        ("Filters", set(JINJA_FILTERS) | _plugin_names("filter")),
        ("Tests", set(JINJA_TESTS) | _plugin_names("test")),
        ("Lookups", _plugin_names("lookup")),
        ("Other names in templates", {"lookup", "query", "q", "omit", "now", "range", "dict"}),
    ],
)
def test_every_name_has_a_row(section: str, names: set[str]) -> None:
    assert names - _documented_names(section) == set()


def _examples() -> list[tuple[str, str]]:
    found = []
    for line in DOC.read_text(encoding="utf-8").splitlines():
        match = EXAMPLE.search(line)
        if match:
            found.append((match.group(1).replace("\\|", "|"), match.group(2)))
    return found


EXAMPLE_VARS: dict[str, Any] = {
    "ok": True,
    "users": [{"name": "ann", "admin": True}, {"name": "bob", "admin": False}],
}


def test_there_are_examples() -> None:
    assert len(_examples()) > 80


@pytest.mark.parametrize(("template", "result"), _examples())
def test_documented_example(template: str, result: str) -> None:
    templar = jinja_templar(environ={"HOME": "/home/ops"})
    assert templar.render_string(template, EXAMPLE_VARS) == ast.literal_eval(result)
