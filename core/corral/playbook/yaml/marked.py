"""The node types the YAML loader returns: plain containers that remember where they were written.

A loaded playbook is ordinary Python data (``dict``, ``list``, ``str``, ``int``, ...), so
code that does not care about positions treats it as such. Mappings, sequences and strings
are subclasses that carry a :class:`~corral.errors.Location`:

- :class:`MarkedDict` ``.mark`` (where the mapping starts) and ``.key_marks`` (where each
  key is written);
- :class:`MarkedList` ``.mark`` and ``.item_marks`` (where each item is written, in order);
- :class:`MarkedStr` ``.mark``.

Other scalars (``int``, ``float``, ``bool``, ``None``, dates, bytes) stay plain values;
their positions are the parent's ``key_marks`` / ``item_marks``. Mapping keys are plain
values too (usually ``str``; YAML also allows ``1:`` or ``true:``, which stay ``int`` /
``bool``), so ``key_marks`` is keyed by the key itself.

Marks survive ``copy.copy``, ``copy.deepcopy`` and ``pickle``. Operations that build a new
value (``str.upper()``, slicing, ``dict(d)``, ``list + list``) return plain types without
marks, on purpose: a derived value was not written anywhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from corral.errors import Location

__all__ = ["MarkedDict", "MarkedList", "MarkedStr", "mark_of", "unmark"]


class MarkedDict(dict[str, Any]):
    """A mapping from a YAML file: ``mark`` is where it starts, ``key_marks[k]`` where key k is."""

    __slots__ = ("key_marks", "mark")

    mark: Location
    key_marks: dict[str, Location]

    def __init__(
        self,
        mark: Location,
        items: Iterable[tuple[str, Any]] = (),
        key_marks: dict[str, Location] | None = None,
    ) -> None:
        super().__init__(items)
        self.mark = mark
        self.key_marks = {} if key_marks is None else key_marks


class MarkedList(list[Any]):
    """A sequence from a YAML file: ``mark`` is where it starts, ``item_marks[i]`` item i's."""

    __slots__ = ("item_marks", "mark")

    mark: Location
    item_marks: list[Location]

    def __init__(
        self,
        mark: Location,
        items: Iterable[Any] = (),
        item_marks: list[Location] | None = None,
    ) -> None:
        super().__init__(items)
        self.mark = mark
        self.item_marks = [] if item_marks is None else item_marks


class MarkedStr(str):
    """A string from a YAML file; ``mark`` is where it starts (the opening quote, if quoted)."""

    # str subclasses cannot have non-empty __slots__, so the mark lives in __dict__.
    mark: Location

    def __new__(cls, value: str, mark: Location) -> MarkedStr:
        self = super().__new__(cls, value)
        self.mark = mark
        return self

    def __getnewargs__(self) -> tuple[str, Location]:  # type: ignore[override]
        # pickle and copy call __new__ with these arguments.
        return (str(self), self.mark)


def mark_of(node: Any) -> Location | None:
    """Where ``node`` was written, or ``None`` for values without a mark (ints, bools, ...)."""
    if isinstance(node, MarkedStr | MarkedDict | MarkedList):
        return node.mark
    return None


def unmark(value: Any) -> Any:
    """A copy of ``value`` with plain ``dict``/``list``/``str`` in place of the marked types.

    The model keeps plain values: the templater and JSON output are fastest on
    exact built-in types, and marks are only needed while loading.
    """
    kind = type(value)
    if kind is MarkedStr:
        return str(value)
    if kind is MarkedDict or kind is dict:
        return {unmark(k): unmark(v) for k, v in value.items()}
    if kind is MarkedList or kind is list:
        return [unmark(v) for v in value]
    return value
