"""Turning whatever goes wrong in Jinja2 into a :class:`~corral.errors.TemplateError`.

Messages name what is missing and hints suggest close matches; callers up the stack
add which variable, task and ``file:line`` the failure belongs to.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from typing import Any

from jinja2.exceptions import SecurityError, TemplateRuntimeError, TemplateSyntaxError

from corral.errors import Location, TemplateError
from corral.playbook.templating.environment import UndefinedValue

__all__ = ["RenderFailure", "did_you_mean", "translate"]


def did_you_mean(name: Any, candidates: Iterable[Any]) -> str | None:
    """``did you mean 'x'?`` for up to three close matches among ``candidates``, or None."""
    names = [c for c in candidates if isinstance(c, str)]
    matches = difflib.get_close_matches(str(name), names, n=3)
    if not matches:
        return None
    return f"did you mean {' or '.join(repr(m) for m in matches)}?"


def _excerpt(source: str, limit: int = 120) -> str:
    text = source if len(source) <= limit else source[: limit - 3] + "..."
    return f"in template {text!r}"


class RenderFailure(TemplateError):
    """A TemplateError that callers up the stack can add context to."""

    def __init__(self, summary: str, detail: str | None = None, *, hint: str | None = None) -> None:
        self.summary = summary
        self.detail = detail
        self.variable: str | None = None
        self.what: str | None = None
        self.names_variables = False  # a cycle error lists the variables itself
        super().__init__(self._compose(), hint=hint)

    def _compose(self) -> str:
        text = self.summary
        if self.variable:
            text += f" in the value of {self.variable!r}"
        if self.what:
            text += f" in {self.what}"
        if self.detail:
            text += f": {self.detail}"
        return text

    def add_context(
        self,
        *,
        variable: str | None = None,
        what: str | None = None,
        location: Location | None = None,
    ) -> None:
        """Say where the failure happened, keeping what an inner caller already said."""
        if not self.names_variables:
            self.variable = self.variable or variable
        self.what = self.what or what
        self.location = self.location or location
        self.message = self._compose()
        self.args = (self.message,)


def translate(
    exc: Exception,
    *,
    source: str,
    variables: Iterable[Any],
    filters: Iterable[str],
    tests: Iterable[str],
) -> RenderFailure:
    """A TemplateError for ``exc``, raised while compiling or rendering ``source``.

    ``variables``, ``filters`` and ``tests`` are the names in scope, for hints.
    """
    if isinstance(exc, RenderFailure):
        return exc
    if isinstance(exc, TemplateError):  # from a filter, test or lookup
        return RenderFailure(exc.message, hint=exc.hint)
    if isinstance(exc, UndefinedValue):
        return _undefined(exc, variables)
    if isinstance(exc, SecurityError):
        return RenderFailure("unsafe template operation refused", str(exc).rstrip("."))
    if isinstance(exc, TemplateSyntaxError | TemplateRuntimeError):
        return _jinja(exc, source, filters, tests)
    if isinstance(exc, RecursionError):
        summary, detail = "template recursion too deep", None
    elif isinstance(exc, TypeError) and "no loader" in str(exc):
        summary, detail = "{% include %}, {% import %} and {% extends %} are not supported", None
    else:
        summary, detail = "template error", f"{type(exc).__name__}: {exc}"
    return RenderFailure(summary, detail, hint=_excerpt(source))


def _jinja(
    exc: TemplateSyntaxError | TemplateRuntimeError,
    source: str,
    filters: Iterable[str],
    tests: Iterable[str],
) -> RenderFailure:
    unknown = re.match(r"No (filter|test) named '([^']+)'", exc.message or "")
    if unknown:
        kind, name = unknown.groups()
        hint = did_you_mean(name, filters if kind == "filter" else tests)
        return RenderFailure(f"unknown {kind} {name!r}", hint=hint)
    if isinstance(exc, TemplateSyntaxError):
        where = f" (line {exc.lineno} of the template)" if exc.lineno else ""
        detail = f"{exc.message}{where}"
        return RenderFailure("template syntax error", detail, hint=_excerpt(source))
    return RenderFailure("template error", str(exc), hint=_excerpt(source))


def _undefined(exc: UndefinedValue, variables: Iterable[Any]) -> RenderFailure:
    if exc.custom_hint:
        return RenderFailure(exc.custom_hint)
    if exc.is_variable:
        return RenderFailure(
            f"undefined variable {exc.name!r}",
            hint=did_you_mean(exc.name, variables)
            or f"define it (vars, inventory, -e, register, set_fact) or give a default: "
            f"{{{{ {exc.name} | default(...) }}}}",
        )
    obj, name = exc.obj, exc.name
    kind = type(obj).__name__
    if not isinstance(name, str):
        return RenderFailure(f"object of type {kind!r} has no item {name!r}")
    if isinstance(obj, Mapping):
        keys = [k for k in obj if isinstance(k, str)]
        hint = did_you_mean(name, keys)
        if hint is None and keys:
            shown = ", ".join(sorted(keys)[:20]) + (", ..." if len(keys) > 20 else "")
            hint = f"its keys are: {shown}"
    else:
        hint = did_you_mean(name, [a for a in dir(obj) if not a.startswith("_")])
    return RenderFailure(f"object of type {kind!r} has no attribute {name!r}", hint=hint)
