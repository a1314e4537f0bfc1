"""Normalising keyword values of plays and tasks: tags, loops, counts, percentages.

Small pure functions the loader uses; each turns what a user may write (a
string or a list, ``on:`` read as ``True`` by YAML 1.1, ``"10%"``) into one shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from corral.errors import Location, PlaybookError
from corral.playbook.keywords import LOOP_KEYS
from corral.playbook.yaml.load import MarkedList

__all__ = [
    "ENV_TEMPLATE",
    "ON_KEYS",
    "approval_spec",
    "as_tuple",
    "bool_or_template",
    "count",
    "describe_kind",
    "environment_layer",
    "expected_types",
    "item_location",
    "loop_of",
    "on_key",
    "percentage",
    "remote_user_of",
    "tags_of",
]


def as_tuple(value: Any) -> tuple[Any, ...]:
    if value is None:
        return ()
    if isinstance(value, list | tuple):
        return tuple(value)
    return (value,)


def tags_of(value: Any) -> frozenset[str]:
    tags: set[str] = set()
    for item in as_tuple(value):
        tags.update(t.strip() for t in str(item).split(",") if t.strip())
    return frozenset(tags)


def loop_of(node: Mapping[str, Any], where: Location | None = None) -> tuple[Any, str]:
    """The loop's value and keyword (``loop``, ``with_items``...); ``(None, "")`` without one."""
    found = [key for key in LOOP_KEYS if key in node]
    if len(found) > 1:
        raise PlaybookError(
            f"a task has one loop, this one has {' and '.join(found)}",
            hint="keep one of them (as Ansible, which refuses a duplicate loop)",
            location=where,
        )
    return (node[found[0]], found[0]) if found else (None, "")


def remote_user_of(node: Mapping[str, Any], where: Location) -> Any:
    """A play's ``remote_user``, or ``user``, its name in older playbooks; not both."""
    if "remote_user" in node and "user" in node:
        raise PlaybookError(
            "play sets both 'remote_user' and 'user'",
            hint="'user' is the older name of 'remote_user': keep one",
            location=where,
        )
    return node.get("remote_user", node.get("user"))


def item_location(container: Any, index: int, fallback: Location) -> Location:
    if isinstance(container, MarkedList) and index < len(container.item_marks):
        return container.item_marks[index]
    return fallback


_TYPE_NAMES = {
    "array": "a list",
    "object": "a mapping",
    "string": "a string",
    "boolean": "true or false",
    "integer": "an integer",
    "number": "a number",
    "null": "empty",
}


def expected_types(schema: Mapping[str, Any]) -> str:
    """``a list or empty`` from a keyword's schema, for error messages."""
    types: list[str] = []
    for option in schema.get("anyOf", [schema]):
        kinds = option.get("type", [])
        types.extend([kinds] if isinstance(kinds, str) else kinds)
    names = list(dict.fromkeys(_TYPE_NAMES.get(t, t) for t in types))
    return " or ".join(names) or "valid"


def describe_kind(value: Any) -> str:
    if isinstance(value, str):
        return f"a string ({value[:40]!r})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "a mapping"
    if value is None:
        return "nothing"
    return type(value).__name__


def bool_or_template(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("yes", "true", "on", "1")
    return bool(value)


ON_KEYS = ("retry",)  # and every plugin play keyword (see corral.playbook.play_keyword)


def on_key(value: Any) -> Any:
    """YAML 1.1 reads a bare ``on:`` key as ``True``; in ``retry`` and plugin keywords: "on"."""
    if isinstance(value, list):
        return [on_key(item) for item in value]
    if isinstance(value, Mapping) and True in value:
        return {("on" if key is True else key): item for key, item in value.items()}
    return value


def approval_spec(value: Any) -> dict[str, Any] | None:
    """``approval: "Go?"`` is short for ``approval: {message: "Go?"}``."""
    if value is None:
        return None
    return {"message": value} if isinstance(value, str) else dict(value)


def count(value: Any, where: Location) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise PlaybookError(
            f"max_failures must be a whole number, got {value!r}", location=where
        ) from None


def lock_names(value: Any, where: Location) -> tuple[str, ...]:
    """``locks:``: plain names, leased as given before the run (a template has no value yet)."""
    names = tuple(str(name) for name in value or ())
    for name in names:
        if "{{" in name or "{%" in name:
            raise PlaybookError(
                f"play keyword 'locks': {name!r} is a template, and lock names are taken"
                " before any variable has a value",
                hint="write the lock's name as plain text",
                location=where,
            )
    return names


def percentage(value: Any, where: Location) -> float | None:
    if value is None:
        return None
    try:
        return float(str(value).rstrip("%"))
    except ValueError:
        raise PlaybookError(
            f"max_fail_percentage must be a number, got {value!r}", location=where
        ) from None


# ``environment: "{{ env }}"``: the template is kept as a key with this value, so that it
# merges in order with the keys around it (inherited ones before, the task's after) and
# is rendered to a mapping at run time. No variable name contains "{{", so no clash.
ENV_TEMPLATE = "\x00corral: environment template"


def environment_layer(value: Any) -> dict[str, Any]:
    """A task's, block's or play's ``environment:``: a mapping, a template, or a list of them."""
    if value is None:
        return {}
    if isinstance(value, str):
        return {value: ENV_TEMPLATE}
    if isinstance(value, list):
        layer: dict[str, Any] = {}
        for item in value:
            layer.update(environment_layer(item))
        return layer
    return dict(value)
