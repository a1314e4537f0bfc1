"""Template functions that plugins add to the Jinja2 environment."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["TemplateFunction"]


@dataclass(frozen=True)
class TemplateFunction:
    """A Jinja2 filter (``{{ x | name }}``), test (``x is name``) or lookup (``lookup('n', ...)``).

    A lookup function is called as ``function(*terms, **kwargs)`` and returns the
    looked-up value.
    """

    name: str
    function: Callable[..., Any]
    kind: Literal["filter", "test", "lookup"] = "filter"
    plugin: str = field(default="", compare=False)
