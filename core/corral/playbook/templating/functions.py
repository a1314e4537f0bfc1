"""The filters, tests and lookups a Templar offers: Jinja2's built-ins plus those of plugins.

Ansible's filters, tests and lookups are not here: the built-in ``jinja`` plugin
registers them through ``corral_register_filters`` like any other plugin. The core
only serves Jinja2's own built-ins, with ``map``, ``select``, ``reject``,
``selectattr`` and ``rejectattr`` returning lists (templates produce values, and a
generator is not one) and ``unique`` accepting unhashable items, as in Ansible.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar, cast

from jinja2 import Environment
from jinja2 import filters as jinja_filters
from jinja2.runtime import Context
from jinja2.tests import TESTS as JINJA_TESTS
from jinja2.utils import pass_context, pass_environment

from corral.errors import PluginLoadError
from corral.playbook.module_names import BUILTIN_PREFIXES
from corral.playbook.templating.function_type import TemplateFunction
from corral.playbook.templating.lookups import Lookup, adapt_lookup

__all__ = ["BUILTIN_FILTERS", "BUILTIN_TESTS", "collect_functions"]


def _as_list_filter(name: str) -> Callable[..., Any]:
    original = jinja_filters.FILTERS[name]

    @pass_context
    def as_list(context: Context, value: Any, *args: Any, **kwargs: Any) -> list[Any]:
        return list(original(context, value, *args, **kwargs))

    as_list.__doc__ = f"Jinja2's ``{name}`` filter, returning a list."
    return as_list


@pass_environment
def _unique(
    environment: Environment,
    value: Iterable[Any],
    case_sensitive: bool | None = None,
    attribute: str | int | None = None,
) -> list[Any]:
    """Items of ``value`` without repeats, in order (unhashable items allowed)."""
    items = list(value)
    try:
        return list(
            jinja_filters.do_unique(
                environment, items, case_sensitive=bool(case_sensitive), attribute=attribute
            )
        )
    except TypeError:  # unhashable items, e.g. dicts
        if attribute is not None:
            raise
        result: list[Any] = []
        for item in items:
            if item not in result:
                result.append(item)
        return result


BUILTIN_FILTERS: dict[str, Callable[..., Any]] = {
    **jinja_filters.FILTERS,
    **{name: _as_list_filter(name) for name in ("map", "select", "reject")},
    **{name: _as_list_filter(name) for name in ("selectattr", "rejectattr")},
    "unique": _unique,
}
"""Jinja2's filters as corral templates see them."""

# jinja2 types its tests as ``dict[str, function]``, which mypy will not widen.
BUILTIN_TESTS = cast("dict[str, Callable[..., Any]]", dict(JINJA_TESTS))
"""Jinja2's tests."""


def collect_functions(
    functions: Sequence[TemplateFunction],
) -> tuple[dict[str, Callable[..., Any]], dict[str, Callable[..., Any]], dict[str, Lookup]]:
    """The filters, tests and lookups for a Templar: Jinja2's built-ins plus ``functions``.

    A plugin function may not replace a Jinja2 built-in nor share a name with
    another plugin's function of the same kind: either is a
    :class:`~corral.errors.PluginLoadError` naming the plugins.
    """
    builtins: dict[str, Iterable[str]] = {
        "filter": BUILTIN_FILTERS,
        "test": BUILTIN_TESTS,
        "lookup": (),
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
                hint="choose another name: Jinja2's built-in filters and tests cannot be replaced",
            )
        earlier = seen.get((function.kind, function.name))
        if earlier is not None:
            raise PluginLoadError(
                f"{function.kind} {function.name!r} registered by both "
                f"{earlier.plugin or 'an unnamed plugin'} and {origin}"
            )
        seen[(function.kind, function.name)] = function
    filters = dict(BUILTIN_FILTERS)
    tests = dict(BUILTIN_TESTS)
    lookups: dict[str, Lookup] = {}
    for (kind, name), function in seen.items():
        if kind == "filter":
            filters[name] = function.function
        elif kind == "test":
            tests[name] = function.function
        else:
            lookups[name] = adapt_lookup(function)
    return _with_ansible_names(filters), _with_ansible_names(tests), _with_ansible_names(lookups)


_T = TypeVar("_T")


def _with_ansible_names(functions: dict[str, _T]) -> dict[str, _T]:
    """``functions`` also under Ansible's full names (``ansible.builtin.basename``...).

    Playbooks written for ansible-lint spell ``x | ansible.builtin.basename`` and
    ``lookup('ansible.builtin.fileglob', ...)``; a name that has a namespace of its own
    (a plugin's ``myorg.thing``) gets none.
    """
    aliased = dict(functions)
    for name, function in functions.items():
        if "." not in name:
            for prefix in BUILTIN_PREFIXES:
                aliased.setdefault(prefix + name, function)
    return aliased
