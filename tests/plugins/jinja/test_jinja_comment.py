"""The ``comment`` filter writes what Ansible's writes, character for character.

A role's template starting with ``{{ ansible_managed | comment }}`` must give the same
file under both tools, or each would see the other's file as changed.
"""

from __future__ import annotations

from typing import Any

import pytest
from jinja_templar import jinja_templar

from corral.errors import TemplateError

ansible_filters = pytest.importorskip("ansible.plugins.filter.core")

CASES: list[tuple[str, dict[str, Any]]] = [
    ("plain", {}),
    ("erlang", {}),
    ("c", {}),
    ("cblock", {}),
    ("xml", {}),
    ("plain", {"decoration": "; "}),
    ("plain", {"prefix": "\n", "prefix_count": 2, "postfix_count": 3}),
    ("c", {"beginning": "//--", "end": "//--", "newline": "\n"}),
    ("xml", {"prefix": "", "postfix": ""}),
]
TEXTS = ["Ansible managed", "first line\n\nthird line\n", ""]


@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize(("style", "options"), CASES)
def test_comment_is_ansibles(text: str, style: str, options: dict[str, Any]) -> None:
    rendered = jinja_templar().render_string(
        "{{ text | comment(style, **options) }}",
        {"text": text, "style": style, "options": options},
    )
    assert rendered == ansible_filters.comment(text, style, **options)


def test_an_unknown_style_is_a_template_error() -> None:
    with pytest.raises(TemplateError, match="invalid style 'shell'"):
        jinja_templar().render_string("{{ 'x' | comment('shell') }}", {})


def test_repeated_lines_are_bounded_as_any_string() -> None:
    with pytest.raises(TemplateError, match="over the limit"):
        jinja_templar().render_string("{{ 'x' | comment(prefix_count=10**9) }}", {})
