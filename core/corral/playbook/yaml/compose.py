"""Build marked Python data from a YAML parser's event stream, within fixed bounds.

PyYAML composes a node graph recursively (in Python or, for libyaml, in C), then
constructs Python objects from it. This module does both in one pass over the events,
with an explicit stack, so that:

- nesting depth is checked as the parser goes and never reaches the Python or C stack;
- every alias is counted at its full expanded size, so an alias bomb stops early;
- mappings, sequences and strings come out as marked types without a second walk.

The typing of scalars is exactly PyYAML's ``SafeLoader``: the same implicit resolvers
(YAML 1.1) and the same ``SafeConstructor`` functions for non-string scalars.
"""

from __future__ import annotations

import re
from typing import Any

from yaml.constructor import SafeConstructor
from yaml.events import (
    AliasEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from yaml.nodes import ScalarNode
from yaml.resolver import Resolver

from corral.errors import CorralError, Location, PlaybookError
from corral.playbook.yaml.dialect import PLAYBOOK, Dialect
from corral.playbook.yaml.limits import ALIAS_NODE_BUDGET, ALIAS_NODES_PER_NODE, MAX_DEPTH
from corral.playbook.yaml.marked import MarkedDict, MarkedList, MarkedStr

__all__ = ["ALIAS_NODES_PER_NODE", "ALIAS_NODE_BUDGET", "MAX_DEPTH", "compose"]

_TAG = "tag:yaml.org,2002:"
_STR, _MAP, _SEQ, _SET = _TAG + "str", _TAG + "map", _TAG + "seq", _TAG + "set"
_OMAP, _PAIRS, _MERGE = _TAG + "omap", _TAG + "pairs", _TAG + "merge"
# Resolutions PyYAML has no constructor for; written as values they can only mean text.
_TEXT_TAGS = frozenset({_STR, _MERGE, _TAG + "value", _TAG + "yaml"})
_MAP_TAGS = frozenset({None, "!", _MAP, _SET})
_SEQ_TAGS = frozenset({None, "!", _SEQ, _OMAP, _PAIRS})
_SCALAR_TAGS = frozenset(
    _TAG + name for name in ("null", "bool", "int", "float", "binary", "timestamp")
)
# YAML 1.1 implicit typing of plain scalars, by first character: a snapshot of PyYAML's
# own table, so another library adding resolvers to PyYAML cannot change our meaning.
_IMPLICIT: dict[str, tuple[tuple[str, re.Pattern[str]], ...]] = {
    first: tuple(rules)
    for first, rules in Resolver.yaml_implicit_resolvers.items()
    if first is not None
}
_KNOWN_TAGS = frozenset(
    f"!!{name}"
    for name in (
        *("str", "int", "float", "bool", "null", "timestamp", "binary"),
        *("map", "seq", "set", "omap", "pairs"),
    )
)
_TAG_KINDS = {_TAG + "timestamp": "a date", _TAG + "int": "a number", _TAG + "float": "a number"}
_TAGS_HINT = (
    "corral reads only the standard YAML tags (!!str, !!int, !!float, !!bool, !!null, "
    "!!timestamp, !!binary, !!map, !!seq, !!set, !!omap, !!pairs) and Ansible's !unsafe "
    "and !vault; "
    "quote the value to keep it as text"
)
_JINJA_KEY_HINT = (
    "a value that starts with '{{' must be quoted, e.g. msg: \"{{ greeting }}\"; "
    "unquoted, YAML reads it as a mapping"
)

_NO_KEY: Any = object()  # a mapping frame waiting for its next key
_MERGE_KEY: Any = object()  # a plain `<<` key


class _Anchor:
    """What ``&name`` refers to; ``done`` once its node is complete."""

    __slots__ = ("done", "height", "size", "value")

    def __init__(self) -> None:
        self.value: Any = None
        self.size = 1  # nodes, counting aliases inside as full copies of their targets
        self.height = 0  # collection levels, this one included
        self.done = False


class _Frame:
    """A mapping or sequence being composed."""

    __slots__ = (
        *("anchor", "height", "is_map", "key", "key_mark", "merges", "node", "start"),
        *("start_mark", "tag"),
    )

    def __init__(
        self,
        node: MarkedDict | MarkedList,
        tag: str | None,
        anchor: _Anchor | None,
        start: int,
        start_mark: Any,
    ) -> None:
        self.node = node
        self.start_mark = start_mark  # PyYAML's, for errors about the node as a whole
        self.is_map = isinstance(node, MarkedDict)
        self.tag = tag
        self.anchor = anchor
        self.start = start  # the expanded node count when this node began
        self.height = 0  # collection levels below this one
        self.key: Any = _NO_KEY
        self.key_mark: Location | None = None
        self.merges: list[MarkedDict] | None = None


def compose(loader: Any, filename: str, dialect: Dialect = PLAYBOOK) -> Any:
    """The single document in ``loader``'s stream as marked data; ``None`` if there is none.

    ``loader`` is a fresh ``yaml.SafeLoader`` or ``yaml.CSafeLoader``: its parser gives
    the events and its ``SafeConstructor`` methods build non-string scalars. ``dialect``
    says which local tags are allowed and how repeated keys are taken. PyYAML's
    syntax errors (``MarkedYAMLError``) pass through; everything else is a
    :class:`PlaybookError`.
    """
    return _Composer(loader, filename, dialect).document()


class _Composer:
    def __init__(self, loader: Any, filename: str, dialect: Dialect) -> None:
        self.loader = loader
        self.filename = filename
        self.dialect = dialect
        self.tags = dialect.tags
        self.marked_strings = dialect.string_marks
        self.stack: list[_Frame] = []
        self.anchors: dict[str, _Anchor] = {}
        self.nodes = 0  # nodes written in the file
        self.expanded = 0  # nodes with every alias counted as a copy of its target
        self.root: Any = None

    def document(self) -> Any:
        get_event = self.loader.get_event
        get_event()  # StreamStartEvent
        if isinstance(get_event(), StreamEndEvent):  # else DocumentStartEvent
            return None
        root = self.body()
        event = get_event()  # StreamEndEvent, or the start of a second document
        if not isinstance(event, StreamEndEvent):
            raise self.error(
                "found a second YAML document; a playbook or vars file holds exactly one",
                event.start_mark,
                "remove the '---' line, or move the second document to its own file",
            )
        return root

    def body(self) -> Any:
        """Compose events up to the end of the document; return its root value."""
        get_event = self.loader.get_event
        stack = self.stack
        while True:
            event = get_event()
            kind = type(event)
            parent = stack[-1] if stack else None
            as_key = parent is not None and parent.is_map and parent.key is _NO_KEY
            mark: Location | None = None  # where the value is; made only when needed
            if kind is ScalarEvent:
                value = self.scalar(event, as_key)
                if type(value) is MarkedStr:
                    mark = value.mark
            elif kind is MappingStartEvent or kind is SequenceStartEvent:
                self.push(event)
                continue
            elif kind is AliasEvent:
                value = self.alias(event, as_key)
            elif kind is MappingEndEvent or kind is SequenceEndEvent:
                value, mark = self.pop()
                parent = stack[-1] if stack else None
                as_key = parent is not None and parent.is_map and parent.key is _NO_KEY
            else:  # DocumentEndEvent: the stack is empty
                return self.root
            if parent is None:
                self.root = value
            elif parent.is_map:
                if as_key:
                    self.take_key(parent, value, mark or self.location(event.start_mark))
                else:
                    self.take_value(parent, value, mark, event)
            else:
                node = parent.node
                assert isinstance(node, MarkedList)
                node.append(value)
                node.item_marks.append(mark or self.location(event.start_mark))

    def scalar(self, event: Any, as_key: bool) -> Any:
        self.nodes += 1
        self.expanded += 1
        tag = event.tag
        value: str = event.value
        if tag is None or tag == "!":
            tag = _STR
            if event.implicit[0]:
                for candidate, pattern in _IMPLICIT.get(value[:1], ()):
                    if pattern.match(value):
                        tag = candidate
                        break
        if tag in _TEXT_TAGS:
            if as_key:
                result: Any = _MERGE_KEY if tag == _MERGE else value
            elif self.marked_strings:
                result = MarkedStr(value, self.location(event.start_mark))
            else:
                result = value
        elif tag in self.tags:
            result = self.tagged(tag, value, event.start_mark)
        else:
            result = self.construct(tag, event)
        if event.anchor is not None:
            anchor = self.define(event.anchor, event.start_mark)
            anchor.value, anchor.done = result, True
        return result

    def construct(self, tag: str, event: Any) -> Any:
        """A non-string scalar, built by PyYAML's SafeConstructor as SafeLoader would."""
        short = tag.replace(_TAG, "!!")
        if tag not in _SCALAR_TAGS:
            raise self.unknown_tag(short, event, "a scalar")
        node = ScalarNode(tag, event.value, event.start_mark, event.end_mark)
        try:
            return SafeConstructor.yaml_constructors[tag](self.loader, node)
        except Exception as exc:  # ValueError, KeyError, binascii errors... from a bad value
            # Only dates fail with a reason worth showing ("month must be in 1..12").
            reason = f" ({exc})" if tag == _TAG + "timestamp" and str(exc) else ""
            if event.tag is None:  # implicitly typed, e.g. `2024-13-01`
                raise self.error(
                    f"{event.value!r} looks like {_TAG_KINDS.get(tag, 'a ' + short)} "
                    f"but is not a valid one{reason}",
                    event.start_mark,
                    "put it in quotes to keep it as text",
                ) from None
            raise self.error(
                f"{event.value!r} is not a valid {short}{reason}",
                event.start_mark,
                f"fix the value or remove the {short} tag",
            ) from None

    def push(self, event: Any) -> None:
        if len(self.stack) >= MAX_DEPTH:
            raise self.too_deep(event.start_mark)
        self.nodes += 1
        self.expanded += 1
        mark = self.location(event.start_mark)
        is_map = isinstance(event, MappingStartEvent)
        if event.tag not in (_MAP_TAGS if is_map else _SEQ_TAGS) and event.tag not in self.tags:
            raise self.unknown_tag(
                str(event.tag).replace(_TAG, "!!"), event, "a mapping" if is_map else "a list"
            )
        node = MarkedDict(mark) if is_map else MarkedList(mark)
        anchor = None if event.anchor is None else self.define(event.anchor, event.start_mark)
        self.stack.append(_Frame(node, event.tag, anchor, self.expanded - 1, event.start_mark))

    def pop(self) -> tuple[Any, Location]:
        frame = self.stack.pop()
        value: Any = frame.node
        if frame.merges is not None:
            value = self.merged(frame)
        if frame.tag == _SET:
            value = set(value)
        elif frame.tag in (_OMAP, _PAIRS):
            value = self.pairs(frame)
        elif frame.tag is not None and frame.tag in self.tags:
            value = self.tagged(frame.tag, value, frame.start_mark)
        height = frame.height + 1
        if self.stack:
            self.stack[-1].height = max(self.stack[-1].height, height)
        if frame.anchor is not None:
            anchor = frame.anchor
            anchor.value, anchor.size, anchor.height = value, self.expanded - frame.start, height
            anchor.done = True
        return value, frame.node.mark

    def alias(self, event: Any, as_key: bool) -> Any:
        name = event.anchor
        anchor = self.anchors.get(name)
        if anchor is None:
            raise self.error(
                f"unknown alias *{name}",
                event.start_mark,
                f"define the anchor (&{name}) earlier in the same file; "
                "put the value in quotes if '*' is meant literally",
            )
        if not anchor.done:
            raise self.error(
                f"alias *{name} refers to a node that contains it (a recursive structure)",
                event.start_mark,
                "an alias can only refer to a node that is complete where the alias is used",
            )
        if self.stack:
            if len(self.stack) + anchor.height > MAX_DEPTH:
                raise self.too_deep(event.start_mark, f" through alias *{name}")
            self.stack[-1].height = max(self.stack[-1].height, anchor.height)
        self.nodes += 1
        self.expanded += anchor.size
        budget = ALIAS_NODE_BUDGET + ALIAS_NODES_PER_NODE * self.nodes
        if self.expanded - self.nodes > budget:
            raise self.error(
                f"too much alias expansion at *{name}: aliases would add more than "
                f"{budget:,} nodes (nested aliases multiplying, as in a 'billion laughs' attack)",
                event.start_mark,
                f"corral lets aliases add at most {ALIAS_NODE_BUDGET:,} nodes plus "
                f"{ALIAS_NODES_PER_NODE} per node written; use fewer nested aliases",
            )
        value = anchor.value
        if as_key and type(value) is MarkedStr:
            return str(value)
        return value

    def take_key(self, frame: _Frame, key: Any, mark: Location) -> None:
        node = frame.node
        assert isinstance(node, MarkedDict)
        if isinstance(key, dict | list | set):
            # `msg: {{ x }}` is a flow mapping whose first key is the mapping `{ x }`.
            jinja = isinstance(key, dict) and _just_after(node.mark, mark)
            raise PlaybookError(
                f"a mapping key must be a plain value, not {_kind(key)}",
                hint=_JINJA_KEY_HINT if jinja else None,
                location=node.mark if jinja else mark,
            )
        if key is _MERGE_KEY:
            if frame.merges is None:
                frame.merges = []
            elif self.dialect.on_duplicate is None:
                raise PlaybookError(
                    "duplicate merge key '<<'",
                    hint="merge several mappings with one key: <<: [*first, *second]",
                    location=mark,
                )
            # else, as in PyYAML, the mappings of a later `<<` come after the earlier ones'
        elif key in node and self.dialect.on_duplicate is not None:
            self.dialect.on_duplicate(mark, key)  # the last value wins, as in PyYAML
        elif key in node:
            first = node.key_marks[key]
            # `1:` and `true:` are one key in Python; say so when the spellings differ.
            same = next(k for k in node if k == key)
            also = "" if repr(same) == repr(key) else f" (the same key as {same!r})"
            raise PlaybookError(
                f"duplicate key {key!r}{also} (first defined on line {first.line})",
                hint="a key may appear once per mapping (YAML would silently keep only "
                "the last value); remove or rename one of them",
                location=mark,
            )
        frame.key, frame.key_mark = key, mark

    def take_value(self, frame: _Frame, value: Any, mark: Location | None, event: Any) -> None:
        node = frame.node
        assert isinstance(node, MarkedDict)
        assert frame.key_mark is not None
        if frame.key is _MERGE_KEY:
            self.take_merge(frame, value, mark or self.location(event.start_mark))
        else:
            node[frame.key] = value
            node.key_marks[frame.key] = frame.key_mark
        frame.key = _NO_KEY

    def take_merge(self, frame: _Frame, value: Any, mark: Location) -> None:
        assert frame.merges is not None
        sources = value if isinstance(value, list) else [value]
        item_marks = getattr(value, "item_marks", None)
        for index, source in enumerate(sources):
            if not isinstance(source, MarkedDict):
                raise PlaybookError(
                    f"the merge key '<<' takes a mapping or a list of mappings, "
                    f"not {_kind(source)}",
                    hint="write <<: *name, where &name marks a mapping",
                    location=item_marks[index] if item_marks else mark,
                )
            frame.merges.append(source)

    def merged(self, frame: _Frame) -> MarkedDict:
        """``<<`` applied as SafeLoader does: earlier sources win, written keys win over all."""
        node = frame.node
        assert isinstance(node, MarkedDict)
        assert frame.merges is not None
        result = MarkedDict(node.mark)
        for source in [*reversed(frame.merges), node]:
            result.update(source)
            result.key_marks.update(source.key_marks)
        return result

    def pairs(self, frame: _Frame) -> list[tuple[Any, Any]]:
        """An ``!!omap`` or ``!!pairs`` sequence as SafeLoader builds it: (key, value) tuples."""
        node = frame.node
        assert isinstance(node, MarkedList)
        result: list[tuple[Any, Any]] = []
        for item, mark in zip(node, node.item_marks, strict=True):
            if not isinstance(item, dict) or len(item) != 1:
                raise PlaybookError(
                    f"each item of {str(frame.tag).replace(_TAG, '!!')} must be a mapping "
                    "with one key",
                    location=mark,
                )
            result.extend(item.items())
        return result

    def tagged(self, tag: str, value: Any, mark: Any) -> Any:
        """A value with a local tag of the dialect (``!unsafe``), built by its function."""
        try:
            return self.tags[tag](value)
        except CorralError as exc:  # a !vault value that cannot be decrypted: its own kind
            raise type(exc)(exc.message, hint=exc.hint, location=self.location(mark)) from None
        except ValueError as exc:
            raise self.error(str(exc), mark, getattr(exc, "hint", None)) from None

    def define(self, name: str, mark: Any) -> _Anchor:
        if name in self.anchors:
            raise self.error(
                f"anchor &{name} is defined twice",
                mark,
                "give each anchor its own name (PyYAML, and so Ansible, refuse a reused one)",
            )
        anchor = self.anchors[name] = _Anchor()
        return anchor

    def location(self, mark: Any) -> Location:
        return Location(self.filename, mark.line + 1, mark.column + 1)

    def error(self, message: str, mark: Any, hint: str | None = None) -> PlaybookError:
        return PlaybookError(message, hint=hint, location=self.location(mark))

    def too_deep(self, mark: Any, how: str = "") -> PlaybookError:
        return self.error(
            f"collections are nested more than {MAX_DEPTH} levels deep{how}",
            mark,
            f"corral refuses YAML nested deeper than {MAX_DEPTH} levels; "
            "check that the file was not generated or concatenated by mistake",
        )

    def unknown_tag(self, short: str, event: Any, kind: str) -> PlaybookError:
        if short.startswith("!!python"):
            hint = "corral loads YAML safely: Python object tags are never allowed"
        else:
            hint = _TAGS_HINT
        known = short in _KNOWN_TAGS
        what = f"the tag {short} cannot be used on {kind}" if known else f"unknown tag {short}"
        return self.error(what, event.start_mark, hint)


def _just_after(outer: Location, inner: Location) -> bool:
    return outer.line == inner.line and outer.col is not None and inner.col == outer.col + 1


def _kind(value: Any) -> str:
    """``value``'s kind with its article, as a user would name it: "a mapping", "a number"."""
    if value is None:
        return "null"
    for types, name in _KINDS:
        if isinstance(value, types):
            return name
    return f"a {type(value).__name__} value"


_KINDS: tuple[tuple[type | tuple[type, ...], str], ...] = (
    (dict, "a mapping"),
    ((list, tuple), "a list"),
    (set, "a set"),
    (bool, "a boolean"),
    ((int, float), "a number"),
    (str, "a string"),
)
