"""Ansible's tests (``value is name``), added to Jinja2's built-in ones.

Jinja2's own tests (``defined``, ``undefined``, ``in``, ``string``, ``number``,
``mapping``, ``sequence``, ``iterable``, ``none``, ``boolean``, ``eq``, ...) come with
the core. :data:`TESTS` maps the added names to plain functions; the plugin
registers each as a ``TemplateFunction(kind="test")``.
"""

from __future__ import annotations

import operator
import os.path
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from jinja2 import Environment
from jinja2.utils import pass_environment

from corral import TemplateError
from corral.playbook.templating.limits import TemplateLimits
from corral_plugins.jinja import patterns

__all__ = ["TESTS", "version_compare"]


# --- registered results --------------------------------------------------------


def _result(value: Any, test: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise TemplateError(
            f"the {test!r} test expects a registered result (a dict), got {type(value).__name__}"
        )
    return value


def failed(result: Any) -> bool:
    """The registered result failed."""
    return bool(_result(result, "failed").get("failed"))


def succeeded(result: Any) -> bool:
    """The registered result did not fail."""
    return not bool(_result(result, "succeeded").get("failed"))


def changed(result: Any) -> bool:
    """The registered result changed something (for a loop: any item did)."""
    value = _result(result, "changed")
    if "changed" in value:
        return bool(value["changed"])
    items = value.get("results")
    if isinstance(items, list):
        return any(isinstance(item, Mapping) and item.get("changed") for item in items)
    return False


def skipped(result: Any) -> bool:
    """The registered result was skipped."""
    return bool(_result(result, "skipped").get("skipped"))


def unreachable(result: Any) -> bool:
    """The host of the registered result was unreachable."""
    return bool(_result(result, "unreachable").get("unreachable"))


def reachable(result: Any) -> bool:
    """The host of the registered result was reachable."""
    return not bool(_result(result, "reachable").get("unreachable"))


# --- regular expressions -------------------------------------------------------


@pass_environment
def regex(
    environment: Environment,
    value: Any,
    pattern: str = "",
    ignorecase: bool = False,
    multiline: bool = False,
    match_type: str = "search",
) -> bool:
    """``value`` matches ``pattern`` (``match_type``: search, match or fullmatch)."""
    flags = (re.IGNORECASE if ignorecase else 0) | (re.MULTILINE if multiline else 0)
    if match_type not in ("search", "match", "fullmatch"):
        raise TemplateError(f"regex test: unknown match_type {match_type!r}")
    limits: TemplateLimits = getattr(environment, "limits", TemplateLimits())
    found = patterns.first_match(
        pattern,
        str(value),
        flags,
        how=match_type,
        timeout=limits.regex_timeout,
        what=f"the {match_type} test",
    )
    return found is not None


@pass_environment
def match(
    environment: Environment,
    value: Any,
    pattern: str = "",
    ignorecase: bool = False,
    multiline: bool = False,
) -> bool:
    """``pattern`` matches at the start of ``value``."""
    return bool(regex(environment, value, pattern, ignorecase, multiline, "match"))


@pass_environment
def search(
    environment: Environment,
    value: Any,
    pattern: str = "",
    ignorecase: bool = False,
    multiline: bool = False,
) -> bool:
    """``pattern`` matches anywhere in ``value``."""
    return bool(regex(environment, value, pattern, ignorecase, multiline, "search"))


# --- versions --------------------------------------------------------------------

_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "=": operator.eq,
    "eq": operator.eq,
    "<": operator.lt,
    "lt": operator.lt,
    "<=": operator.le,
    "le": operator.le,
    ">": operator.gt,
    "gt": operator.gt,
    ">=": operator.ge,
    "ge": operator.ge,
    "!=": operator.ne,
    "<>": operator.ne,
    "ne": operator.ne,
}

_VERSION_PART = re.compile(r"\d+|[a-z]+", re.IGNORECASE)


def loose_version_key(version: Any) -> tuple[tuple[int, int | str], ...]:
    """A sort key for a version string: numbers compare as numbers, before letters."""
    return tuple(
        (0, int(part)) if part.isdigit() else (1, part.lower())
        for part in _VERSION_PART.findall(str(version))
    )


def version_compare(
    value: Any,
    version: Any,
    operator: str = "eq",
    strict: bool | None = None,
    version_type: str | None = None,
) -> bool:
    """Compare versions loosely: ``'1.10' is version('1.9', '>')`` is true."""
    if strict or version_type not in (None, "loose"):
        raise TemplateError("version: only loose version comparison is supported")
    if operator not in _OPERATORS:
        raise TemplateError(
            f"version: unknown operator {operator!r}; use one of {', '.join(_OPERATORS)}"
        )
    if not value or not version:
        raise TemplateError("version: cannot compare an empty version")
    return _OPERATORS[operator](loose_version_key(value), loose_version_key(version))


# --- truth and membership ----------------------------------------------------------


def truthy(value: Any, convert_bool: bool = False) -> bool:
    """``value`` is true (``convert_bool`` reads yes/no/on/off/true/false strings)."""
    if convert_bool and isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("yes", "on", "true", "1", "y", "t"):
            return True
        if lowered in ("no", "off", "false", "0", "n", "f", ""):
            return False
    return bool(value)


def falsy(value: Any, convert_bool: bool = False) -> bool:
    """``value`` is false; the opposite of ``truthy``."""
    return not truthy(value, convert_bool)


def contains(seq: Iterable[Any], item: Any) -> bool:
    """``item`` is in ``seq`` (``in`` the other way round, handy with ``select``)."""
    return item in seq


def subset(a: Iterable[Any], b: Iterable[Any]) -> bool:
    """Every item of ``a`` is in ``b``."""
    other = list(b)
    return all(x in other for x in a)


def superset(a: Iterable[Any], b: Iterable[Any]) -> bool:
    """Every item of ``b`` is in ``a``."""
    return subset(b, a)


# --- controller-side paths -----------------------------------------------------------


def _path(value: Any) -> str:
    return os.path.expanduser(str(value))


TESTS: dict[str, Callable[..., Any]] = {
    "failed": failed,
    "failure": failed,
    "succeeded": succeeded,
    "success": succeeded,
    "successful": succeeded,
    "changed": changed,
    "change": changed,
    "skipped": skipped,
    "skip": skipped,
    "reachable": reachable,
    "unreachable": unreachable,
    "match": match,
    "search": search,
    "regex": regex,
    "version": version_compare,
    "version_compare": version_compare,
    "truthy": truthy,
    "falsy": falsy,
    "any": any,
    "all": all,
    "contains": contains,
    "subset": subset,
    "superset": superset,
    "file": lambda path: os.path.isfile(_path(path)),
    "directory": lambda path: os.path.isdir(_path(path)),
    "exists": lambda path: os.path.exists(_path(path)),
    "link": lambda path: os.path.islink(_path(path)),
    "abs": lambda path: os.path.isabs(_path(path)),
}
