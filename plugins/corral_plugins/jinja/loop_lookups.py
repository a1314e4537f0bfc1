"""Ansible's lookups for loops: ``together``, ``nested``, ``subelements``, ``sequence``, ...

Each behaves as the Ansible lookup of the same name, item shapes and flattening
included, so ``with_nested: [a, b]`` and ``loop: "{{ query('nested', a, b) }}"``
give the same items (``with_<name>`` runs the lookup ``<name>``).
"""

from __future__ import annotations

import copy
import itertools
import re
import secrets
import shlex
from collections.abc import Callable, Mapping
from typing import Any

from corral import LookupScope, TemplateError
from corral_plugins.jinja.lookups import CONTROLLER_TIMEOUT, run_on_controller

__all__ = ["LOOP_LOOKUPS"]


def _no_options(name: str, options: dict[str, Any]) -> None:
    if options:
        raise TemplateError(f"lookup {name!r} takes no options, got {', '.join(options)}")


def _flatten(terms: Any) -> list[Any]:
    """Ansible's ``LookupBase._flatten``: one level of lists and tuples."""
    flat: list[Any] = []
    for term in terms:
        flat.extend(term if isinstance(term, list | tuple) else [term])
    return flat


def together(scope: LookupScope, *terms: Any, **options: Any) -> list[Any]:
    """``[a[0], b[0]], [a[1], b[1]], ...``; the shorter lists are padded with None."""
    _no_options("together", options)
    if not terms:
        raise TemplateError("with_together requires at least one element in each list")
    return [_flatten(row) for row in itertools.zip_longest(*terms, fillvalue=None)]


def nested(scope: LookupScope, *terms: Any, **options: Any) -> list[Any]:
    """Every combination of one element of each list (``with_nested``, ``with_cartesian``)."""
    _no_options("nested", options)
    if not terms:
        raise TemplateError("with_nested requires at least one element in the nested list")
    result: list[Any] = list(terms[0])
    for other in terms[1:]:
        result = [_flatten([x, y]) for x in result for y in other]
    return [_flatten(x) for x in result]


def random_choice(scope: LookupScope, *terms: Any, **options: Any) -> list[Any]:
    """One of the terms, picked at random."""
    _no_options("random_choice", options)
    return [secrets.choice(terms)] if terms else []


def flattened(scope: LookupScope, *terms: Any, **options: Any) -> list[Any]:
    """The terms with every nested list flattened, however deep (``'None'`` ends the list)."""
    _no_options("flattened", options)
    return _deep_flatten(list(terms))


def _deep_flatten(terms: list[Any]) -> list[Any]:
    flat: list[Any] = []
    for term in terms:
        value = term
        while isinstance(value, list | tuple) and len(value) == 1:
            value = value[0]
        if value in ("None", "null"):
            break  # as community.general's flattened: an undefined item ends the list
        if isinstance(value, list | tuple):
            flat.extend(_deep_flatten(list(value)))
        else:
            flat.append(value)
    return flat


_SUBELEMENT_FLAGS = ("skip_missing",)


def subelements(scope: LookupScope, *terms: Any, **options: Any) -> list[Any]:
    """``(element, sub)`` for each ``sub`` in the list each element holds under a key."""
    _no_options("subelements", options)
    usage = "subelements lookup expects a list of two or three items, "
    if not 2 <= len(terms) <= 3:
        raise TemplateError(usage)
    elements, key = terms[0], terms[1]
    if not isinstance(elements, list | Mapping) or not isinstance(key, str):
        raise TemplateError(
            usage + "first a dict or a list, second a string pointing to the subkey"
        )
    flags = terms[2] if len(terms) == 3 else {}
    if not isinstance(flags, Mapping) or any(k not in _SUBELEMENT_FLAGS for k in flags):
        raise TemplateError(
            usage + f"the optional third item must be a dict with flags {list(_SUBELEMENT_FLAGS)}"
        )
    # Ansible removes the sub-list from each element it returns: work on a copy.
    elements = copy.deepcopy(elements)
    if isinstance(elements, Mapping):
        if elements.get("skipped", False) is not False:
            return []  # a registered result that was skipped as a whole
        elements = list(elements.values())
    skip_missing = _truthy(flags.get("skip_missing", False))
    keys = key.split(".")
    found: list[Any] = []
    for element in elements:
        if not isinstance(element, dict):
            raise TemplateError(f"subelements lookup expects a dictionary, got '{element}'")
        if element.get("skipped", False) is not False:
            continue
        sublist = _sublist(element, keys, skip_missing)
        found.extend((element, sub) for sub in sublist)
    return found


def _sublist(element: dict[str, Any], keys: list[str], skip_missing: bool) -> list[Any]:
    value: dict[str, Any] = element
    for index, key in enumerate(keys):
        if key not in value:
            if skip_missing:
                return []
            raise TemplateError(f"could not find '{key}' key in iterated item '{value}'")
        if index < len(keys) - 1:
            if not isinstance(value[key], dict):
                if skip_missing:
                    return []
                raise TemplateError(
                    f"the key {key} should point to a dictionary, got '{value[key]}'"
                )
            value = value[key]
        elif not isinstance(value[key], list):
            raise TemplateError(f"the key {key} should point to a list, got '{value[key]}'")
    return list(value.pop(keys[-1], []))


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("yes", "true", "on", "1", "y", "t")
    return bool(value)


# [start-]end[/stride][:format], as Ansible's sequence lookup reads its short form.
_NUM = "(0?x?[0-9a-f]+)"
_SHORTCUT = re.compile(f"^({_NUM}-)?{_NUM}(/{_NUM})?(:(.+))?$", re.IGNORECASE)
_SEQUENCE_FIELDS = ("start", "end", "stride", "count", "format")


def sequence(scope: LookupScope, *terms: Any, **options: Any) -> list[Any]:
    """Numbers as strings: ``start=1 end=5``, ``count=3``, ``stride=2``, ``format=web%02d``."""
    unknown = [k for k in options if k not in _SEQUENCE_FIELDS]
    if unknown:
        raise TemplateError(f"unrecognized arguments to with_sequence: {unknown}")
    results: list[Any] = []
    for term in terms or ("",):
        fields: dict[str, Any] = {"start": 1, "stride": 1, "format": "%d", **options}
        fields.update(_sequence_args(str(term)))
        results.extend(_generate(fields))
    return results


def _sequence_args(term: str) -> dict[str, Any]:
    match = _SHORTCUT.match(term)
    if match:
        _, start, end, _, stride, _, fmt = match.groups()
        found = {"start": start, "end": end, "stride": stride, "format": fmt}
        return {k: v for k, v in found.items() if v is not None}
    args: dict[str, Any] = {}
    try:
        words = shlex.split(term)
    except ValueError as exc:
        raise TemplateError(
            f"unknown error parsing with_sequence arguments: {term!r}: {exc}"
        ) from None
    for word in words:
        key, sep, value = word.partition("=")
        if not sep or key not in _SEQUENCE_FIELDS:
            name = key if sep else "_raw_params"
            raise TemplateError(f"unrecognized arguments to with_sequence: [{name!r}]")
        args[key] = value
    return args


def _integer(fields: Mapping[str, Any], name: str) -> int | None:
    value = fields.get(name)
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise TemplateError(f"with_sequence: {name} must be an integer, got {value!r}") from None


def _generate(fields: Mapping[str, Any]) -> list[str]:
    start = _integer(fields, "start") or 0  # start and stride have defaults: never None
    stride = _integer(fields, "stride") or 0
    end, count = _integer(fields, "end"), _integer(fields, "count")
    fmt = str(fields["format"])
    if count is None and end is None:
        raise TemplateError("must specify count or end in with_sequence")
    if count is not None and end is not None:
        raise TemplateError("can't specify both count and end in with_sequence")
    if count is not None:
        if count == 0:
            return []
        end = start + count * stride - 1
    end = end or 0  # set by now: end or count was given
    if stride > 0 and end < start:
        raise TemplateError("to count backwards make stride negative")
    if stride < 0 and end > start:
        raise TemplateError("to count forward don't make stride negative")
    if stride == 0:
        return []
    if fmt.count("%") != 1:
        raise TemplateError(f"bad formatting string: {fmt}")
    numbers = range(start, end + (1 if stride > 0 else -1), stride)
    if len(numbers) > 1_000_000:
        raise TemplateError(f"with_sequence would give {len(numbers)} items, over 1,000,000")
    try:
        return [fmt % number for number in numbers]
    except (TypeError, ValueError):
        raise TemplateError(f"problem formatting {start!r} with {fmt!r}") from None


def lines(scope: LookupScope, *terms: Any, **options: Any) -> list[Any]:
    """The output lines of commands run by the shell on the controller, in the playbook's dir."""
    _no_options("lines", options)
    found: list[Any] = []
    for term in terms:
        found.extend(run_on_controller(scope, "lines", str(term), CONTROLLER_TIMEOUT).splitlines())
    return found


def inventory_hostnames(scope: LookupScope, *terms: Any, **options: Any) -> list[Any]:
    """The hosts a host pattern (``web:!web1``) selects, from the ``groups`` variable."""
    from corral.errors import CorralError
    from corral.inventory.model import Inventory

    _no_options("inventory_hostnames", options)
    try:
        groups = scope.variable("groups")
    except KeyError:
        return []
    inventory = Inventory()
    for group, hosts in dict(groups).items():
        inventory.add_group(str(group))
        for host in hosts:
            inventory.add_host(str(host), str(group))
    inventory.finish()
    try:
        return inventory.select([str(t) for t in terms])
    except CorralError:
        return []


LOOP_LOOKUPS: dict[str, Callable[..., list[Any]]] = {
    "together": together,
    "nested": nested,
    "cartesian": nested,
    "subelements": subelements,
    "sequence": sequence,
    "random_choice": random_choice,
    "flattened": flattened,
    "lines": lines,
    "inventory_hostnames": inventory_hostnames,
}
