"""Checking a play's, block's, task's or include's keywords against their schema."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from corral.errors import Location, PlaybookError, did_you_mean
from corral.playbook import keywords as kw
from corral.playbook.keyword_values import (
    ON_KEYS,
    describe_kind,
    expected_types,
    item_location,
    on_key,
)
from corral.playbook.module_names import REMOVED
from corral.playbook.schema_check import surely_valid
from corral.playbook.yaml.load import MarkedDict, mark_of

__all__ = ["check_keywords", "key_location"]


def key_location(node: Mapping[str, Any], key: str, fallback: Location) -> Location:
    """Where ``key`` is written in ``node``, when it was read from YAML."""
    if isinstance(node, MarkedDict):
        return node.key_marks.get(key) or fallback
    return fallback


def check_keywords(
    node: Mapping[str, Any],
    schema: Mapping[str, Any],
    what: str,
    where: Location,
    on_keys: Collection[str] = (),
    ignore: set[str] = frozenset(),  # type: ignore[assignment]
) -> None:
    """Raise :class:`PlaybookError` for an unknown keyword or a value ``schema`` rejects.

    ``on_keys`` are keywords whose values get YAML 1.1's ``on: -> true`` undone first.
    """
    for key in node:
        if key not in schema and key not in ignore:
            raise PlaybookError(
                f"unknown {what} {key!r}",
                hint=REMOVED.get(str(key))
                or did_you_mean(str(key), schema)
                or f"see docs/playbooks.md for the {what}s",
                location=key_location(node, key, where),
            )
    # A plugin's keyword is read as check_play_keywords hands it on (``on:`` undone).
    values = {
        k: on_key(v) if k in ON_KEYS or k in on_keys else v for k, v in node.items() if k in schema
    }
    whole = kw.object_schema(dict(schema))
    if surely_valid(whole, values):
        return  # the common case, without jsonschema
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(whole)
    for error in validator.iter_errors(values):
        key = str(error.absolute_path[0]) if error.absolute_path else ""
        value = node.get(key)
        location = mark_of(value) or key_location(node, key, where)
        bad_item = _bad_item(schema[key], value) if key else None
        if bad_item is not None and len(error.absolute_path) == 1:
            index, item, items = bad_item
            location = item_location(value, index, location)
            expected, got = expected_types(items), describe_kind(item)
            message = f"{what} {key!r}: item {index + 1} must be {expected}, got {got}"
        elif len(error.absolute_path) == 1 and error.validator in ("type", "anyOf"):
            expected, got = expected_types(schema[key]), describe_kind(value)
            message = f"{what} {key!r} must be {expected}, got {got}"
        else:
            message = f"{what} {key!r}: {error.message}" if key else error.message
        raise PlaybookError(message, location=location)


def _bad_item(schema: Mapping[str, Any], value: Any) -> tuple[int, Any, Mapping[str, Any]] | None:
    """For a list where the keyword allows a list of some kind of item: the first item
    of the wrong kind, and that kind's schema (``needs: [a, 3]``: the ``3``)."""
    if not isinstance(value, list):
        return None
    from jsonschema import Draft202012Validator

    for option in schema.get("anyOf", ()):
        items = option.get("items") if option.get("type") == "array" else None
        if isinstance(items, Mapping):
            checker = Draft202012Validator(items)
            for index, item in enumerate(value):
                if not checker.is_valid(item):
                    return index, item, items
    return None
