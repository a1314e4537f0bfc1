"""Calling lookups: ``lookup('name', ...)``, ``query('name', ...)`` and ``q(...)`` in templates.

The lookups themselves come from plugins (``TemplateFunction(kind="lookup")``; the
built-in ``jinja`` plugin brings Ansible's ``env``, ``file``, ``template``, ...).
:func:`adapt_lookup` turns each into the one shape the Templar calls, giving it a
:class:`LookupScope` when it asks for one (``pass_scope=True``); :func:`run_lookup`
applies Ansible's rules for what ``lookup()`` and ``query()`` return and for the
``errors`` option.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from jinja2.runtime import Context
from jinja2.utils import pass_context

from corral.errors import TemplateError
from corral.playbook.templating.errors import RenderFailure, did_you_mean
from corral.playbook.templating.function_type import LookupScope, TemplateFunction

__all__ = ["LOOKUP_GLOBALS", "Lookup", "LookupRunner", "adapt_lookup", "run_lookup"]

log = logging.getLogger("corral.templating")

Lookup = Callable[[LookupScope, list[Any], dict[str, Any]], list[Any]]
"""The shape the Templar calls: ``(scope, terms, options) -> list of results``."""


def adapt_lookup(function: TemplateFunction) -> Lookup:
    """Call ``function(*terms, **options)``, or ``function(scope, *terms, **options)``.

    A list or tuple result is the list of results; any other value is one result.
    """
    call = function.function
    pass_scope = function.pass_scope

    def lookup(scope: LookupScope, terms: list[Any], options: dict[str, Any]) -> list[Any]:
        result = call(scope, *terms, **options) if pass_scope else call(*terms, **options)
        if isinstance(result, list | tuple):
            return list(result)
        return [result]

    return lookup


def run_lookup(
    lookups: Mapping[str, Lookup],
    scope: LookupScope,
    name: str,
    terms: Sequence[Any],
    options: dict[str, Any],
    *,
    wantlist: bool,
) -> Any:
    """Run lookup ``name`` with Ansible's result rules.

    With ``wantlist`` (``query()``), the list of results. Otherwise no result is
    None, one result is that value, several strings are joined with commas and
    anything else is the list. ``errors='ignore'`` or ``'warn'`` turns a failure
    into that empty result.
    """
    errors = options.pop("errors", "strict")
    if errors not in ("strict", "warn", "ignore"):
        raise TemplateError(f"lookup {name!r}: errors must be strict, warn or ignore")
    lookup = lookups.get(name)
    if lookup is None:
        raise RenderFailure(f"unknown lookup {name!r}", hint=did_you_mean(name, lookups))
    try:
        results = lookup(scope, list(terms), options)
    except Exception as exc:
        if errors == "strict":
            if isinstance(exc, TemplateError):
                raise RenderFailure(f"lookup({name!r}) failed", exc.message, hint=exc.hint) from exc
            detail = f"{type(exc).__name__}: {exc}"
            raise RenderFailure(f"lookup({name!r}) failed", detail) from exc
        if errors == "warn":
            log.warning("lookup(%r) failed: %s", name, exc)
        return [] if wantlist else None
    if wantlist:
        return results
    if not results:
        return None
    if len(results) == 1:
        return results[0]
    if all(isinstance(r, str) for r in results):
        return ",".join(results)
    return results


class LookupRunner(Protocol):
    """The per-render state a context carries, able to run a lookup in that render."""

    def run_lookup(
        self,
        context: Context,
        name: str,
        terms: Sequence[Any],
        options: dict[str, Any],
        *,
        wantlist: bool,
    ) -> Any:
        """Run lookup ``name`` with the render's variables and search paths."""


def _runner(context: Context) -> LookupRunner:
    state = getattr(context, "state", None)
    if state is None or not hasattr(state, "run_lookup"):
        raise TemplateError("lookups can only be used in templates rendered by corral")
    runner: LookupRunner = state
    return runner


@pass_context
def _lookup(context: Context, name: str, *terms: Any, **options: Any) -> Any:
    """``lookup('name', term, ..., wantlist=False, errors='strict')``."""
    wantlist = bool(options.pop("wantlist", False))
    return _runner(context).run_lookup(context, name, terms, options, wantlist=wantlist)


@pass_context
def _query(context: Context, name: str, *terms: Any, **options: Any) -> Any:
    """``query('name', term, ...)``: always a list."""
    options.pop("wantlist", None)
    return _runner(context).run_lookup(context, name, terms, options, wantlist=True)


def _now(utc: bool = False, fmt: str | None = None) -> Any:
    """``now()``: the current time, or the time formatted with ``fmt``."""
    moment = datetime.datetime.now(datetime.UTC if utc else None)
    if utc:
        moment = moment.replace(tzinfo=None)
    return moment.strftime(fmt) if fmt else moment


LOOKUP_GLOBALS: Mapping[str, Callable[..., Any]] = {
    "lookup": _lookup,
    "query": _query,
    "q": _query,
    "now": _now,
}
"""The global functions templates call: the lookups, and ``now()``."""
