"""Play keywords that plugins declare, and how the loader checks and keeps their values.

A plugin registers a :class:`PlayKeyword` through ``corral_register_play_keywords``.
On a play that sets it, the loader checks the value against ``schema`` (a JSON
Schema fragment), then calls ``validate`` with a :class:`KeywordValue`; whatever
``validate`` returns is kept in ``Play.extensions[name]``. Both report errors at
``file:line:col``, as every other playbook error is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from corral.errors import Location, PlaybookError

__all__ = ["KeywordValue", "PlayKeyword", "check_play_keywords"]


@dataclass(frozen=True)
class KeywordValue:
    """A plugin keyword's value as the loader hands it to the keyword's ``validate``.

    ``value`` is plain data; YAML 1.1's reading of a bare ``on:`` key as ``true`` is
    undone (``on`` is a common key in such values). ``source`` is the same value as
    read, with the marks :meth:`location_of` uses.
    """

    name: str
    value: Any
    source: Any
    location: Location

    def location_of(self, *path: str | int) -> Location:
        """Where the item at ``path`` (keys and list indexes) inside the value is written."""
        from corral.playbook.args import location_in

        return location_in(self.source, list(path), self.location)

    def error(self, message: str, *path: str | int, hint: str | None = None) -> PlaybookError:
        """A :class:`PlaybookError` about the item at ``path``, for ``validate`` to raise."""
        return PlaybookError(message, hint=hint, location=self.location_of(*path))


@dataclass(frozen=True)
class PlayKeyword:
    """A play keyword a plugin owns: its name, the schema of its value, an optional check.

    ``validate(value)`` raises :class:`corral.PlaybookError` (``value.error(...)``
    builds one at the right place) or returns the value to keep.
    """

    name: str
    schema: Mapping[str, Any]
    validate: Callable[[KeywordValue], Any] | None = None
    description: str = ""
    plugin: str = field(default="", compare=False)


def check_play_keywords(
    node: Mapping[str, Any],
    keywords: Mapping[str, PlayKeyword],
    key_location: Callable[[str], Location],
) -> dict[str, Any]:
    """The values of the plugin keywords ``node`` (a play, already schema-checked) sets."""
    from corral.playbook.keyword_values import on_key
    from corral.playbook.yaml.load import mark_of
    from corral.playbook.yaml.marked import unmark

    found: dict[str, Any] = {}
    for name, keyword in keywords.items():
        if name not in node:
            continue
        source = node[name]
        where = mark_of(source) or key_location(name)
        value = KeywordValue(name, on_key(unmark(source)), source, where)
        found[name] = keyword.validate(value) if keyword.validate else value.value
    return found
