"""The filters, tests and lookups a Templar offers: the built-ins plus those of plugins."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from jinja2.filters import FILTERS as JINJA_FILTERS
from jinja2.tests import TESTS as JINJA_TESTS

from corral.errors import PluginLoadError
from corral.playbook.templating.filters import FILTERS
from corral.playbook.templating.function_type import TemplateFunction
from corral.playbook.templating.jinja_tests import TESTS
from corral.playbook.templating.lookups import LOOKUPS, Lookup, plugin_lookup

__all__ = ["collect_functions"]


def collect_functions(
    functions: Sequence[TemplateFunction],
) -> tuple[dict[str, Callable[..., Any]], dict[str, Callable[..., Any]], dict[str, Lookup]]:
    """The filters, tests and lookups for a Templar: corral's plus ``functions``.

    A plugin function may not replace a built-in (Jinja2's or corral's) nor share
    a name with another plugin's function of the same kind: either is a
    :class:`~corral.errors.PluginLoadError` naming the plugins.
    """
    builtins: dict[str, set[str]] = {
        "filter": set(JINJA_FILTERS) | set(FILTERS),
        "test": set(JINJA_TESTS) | set(TESTS),
        "lookup": set(LOOKUPS),
    }
    seen: dict[tuple[str, str], TemplateFunction] = {}
    for function in functions:
        origin = function.plugin or "an unnamed plugin"
        if function.kind not in builtins:
            raise PluginLoadError(
                f"plugin {origin} registers {function.name!r} with unknown kind "
                f"{function.kind!r}; use 'filter', 'test' or 'lookup'"
            )
        if function.name in builtins[function.kind]:
            raise PluginLoadError(
                f"plugin {origin} registers {function.kind} {function.name!r}, "
                f"which is a built-in {function.kind}",
                hint="choose another name: built-in filters, tests and lookups cannot be replaced",
            )
        earlier = seen.get((function.kind, function.name))
        if earlier is not None:
            raise PluginLoadError(
                f"{function.kind} {function.name!r} registered by both "
                f"{earlier.plugin or 'an unnamed plugin'} and {origin}"
            )
        seen[(function.kind, function.name)] = function
    filters = {**FILTERS}
    tests = {**TESTS}
    lookups = {**LOOKUPS}
    for (kind, name), function in seen.items():
        if kind == "filter":
            filters[name] = function.function
        elif kind == "test":
            tests[name] = function.function
        else:
            lookups[name] = plugin_lookup(function.function)
    return filters, tests, lookups
