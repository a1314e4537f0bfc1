"""Convert argument values to the types a step's JSON Schema declares, as Ansible does.

``-e port=18081`` makes ``port`` a string; ``wait_for: {port: "{{ port }}"}`` must
still get the integer 18081, because Ansible converts every module argument to
its declared type: ``"18081"`` to an int, ``"yes"``/``"off"``/``"1"`` to a bool,
``"a,b"`` to a list, ``"k=v k2=v2"`` or JSON to a dict, numbers to strings. corral
reads the target types from the schema (``type``, ``enum``, ``properties``,
``items``, ``additionalProperties``, ``anyOf``/``oneOf`` when only one branch fits)
and converts after rendering and before validation.

Each schema is compiled once into a tree of :class:`_Node` (kept per schema, as
the validators are); a value that already has an accepted type costs one
``type()`` look-up.
"""

from __future__ import annotations

import ast
import decimal
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from corral.errors import PlaybookError

__all__ = ["ConversionError", "convert_value", "converter_for", "converts_inside"]

_TRUE = frozenset(("y", "yes", "on", "1", "true", "t"))
_FALSE = frozenset(("n", "no", "off", "0", "false", "f"))
# The order in which an ambiguous target is tried (``["integer", "boolean"]`` and
# "1" is the integer 1).
_ORDER = ("integer", "number", "boolean", "object", "array", "string", "null")
_WHAT = {
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean",
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "null": "null",
}
_HINTS = {
    "integer": "give a whole number, such as 8080",
    "number": "give a number, such as 2.5",
    "boolean": "give yes/no, true/false, on/off or 1/0",
    "object": "give a mapping, a JSON object or 'key=value key2=value2'",
    "array": "give a list or a comma-separated string",
}


class ConversionError(PlaybookError):
    """A value that cannot take any of the types its schema allows (``path``: where in it)."""

    def __init__(self, path: tuple[Any, ...], value: Any, targets: tuple[str, ...]) -> None:
        what = " or ".join(_WHAT.get(t, t) for t in targets) or "an allowed value"
        hint = _HINTS.get(targets[0]) if len(targets) == 1 else None
        super().__init__(f"cannot convert {value!r} to {what}", hint=hint)
        self.path = path
        self.value = value
        self.targets = targets


# What a conversion returns when it cannot convert (the next target is tried).
_NO: Any = object()


_KIND_CHECKS: tuple[tuple[Any, str], ...] = (
    (int, "integer"),
    (str, "string"),
    (type(None), "null"),
    (Mapping, "object"),
    ((list, tuple), "array"),
)


# The common types first, by exact type: a Mapping isinstance check goes through abc.
_EXACT_KINDS: dict[type, str] = {
    str: "string",
    int: "integer",
    bool: "boolean",
    type(None): "null",
    dict: "object",
    list: "array",
    tuple: "array",
}


def _kind(value: Any) -> str:
    """The JSON Schema type of a Python value (an integral float is an integer too)."""
    kind = _EXACT_KINDS.get(type(value))
    if kind is not None:
        return kind
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, float):
        return "integer" if value.is_integer() else "number"
    return next((kind for types, kind in _KIND_CHECKS if isinstance(value, types)), "unknown")


def _same(a: Any, b: Any) -> bool:
    """Equality as JSON Schema's ``enum`` sees it: ``True`` is not ``1``, ``"1"`` is not ``1``."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, str) or isinstance(b, str):
        return isinstance(a, str) and isinstance(b, str) and a == b
    return bool(a == b)


@dataclass
class _Node:
    """What one (sub)schema asks of a value, reduced to what conversion needs."""

    types: frozenset[str] | None = None  # None: any type
    enum: tuple[Any, ...] | None = None
    properties: dict[str, _Node] = field(default_factory=dict)
    additional: _Node | None = None
    items: _Node | None = None
    branches: tuple[_Node, ...] = ()  # anyOf / oneOf
    parts: tuple[_Node, ...] = ()  # allOf
    # Python types whose values this node takes as they are, with nothing inside to
    # convert: the engine converts every rendered task's arguments, and most are already
    # of the declared type, so checking ``type(value) in fast`` first saves the walk.
    fast: frozenset[type] = field(default=frozenset(), compare=False)
    # Whether a dict is taken as it is (only its values may need converting).
    plain_object: bool = field(default=False, compare=False)

    def accepts(self, value: Any) -> bool:
        kind = _kind(value)
        if (
            self.types is not None
            and kind not in self.types
            and not (kind == "integer" and "number" in self.types)
        ):
            return False
        if self.enum is not None and not any(_same(value, e) for e in self.enum):
            return False
        return not self.branches or any(b.accepts(value) for b in self.branches)

    def targets(self) -> tuple[str, ...]:
        """The types a value may be converted to, in the order they are tried."""
        if self.types is not None:
            found = tuple(t for t in _ORDER if t in self.types)
        elif self.enum is not None:
            found = tuple(t for t in _ORDER if any(_kind(e) == t for e in self.enum))
        else:
            return ()
        if "array" in found and self.items is not None and self.items.structured():
            # A list whose items may be mappings or lists (SQL statements, say) is not
            # made by cutting a string at its commas.
            found = tuple(t for t in found if t != "array")
        return found

    def structured(self) -> bool:
        """Whether a value of this schema may be a mapping or a list."""
        if self.types is not None and self.types & {"object", "array"}:
            return True
        return any(b.structured() for b in self.branches)


def _compile(schema: Any) -> _Node | None:
    """The conversion tree of ``schema``, or None when nothing in it constrains types."""
    if not isinstance(schema, Mapping):
        return None
    node = _Node()
    declared = schema.get("type")
    if isinstance(declared, str):
        node.types = frozenset((declared,))
    elif isinstance(declared, list):
        node.types = frozenset(str(t) for t in declared)
    if isinstance(schema.get("enum"), list):
        node.enum = tuple(schema["enum"])
    properties = schema.get("properties")
    if isinstance(properties, Mapping):
        for name, sub in properties.items():
            compiled = _compile(sub)
            if compiled is not None:
                node.properties[str(name)] = compiled
    node.additional = _compile(schema.get("additionalProperties"))
    node.items = _compile(schema.get("items"))
    branches = [*(schema.get("anyOf") or ()), *(schema.get("oneOf") or ())]
    compiled_branches = [_compile(b) or _Node() for b in branches]
    # A branch that accepts anything leaves nothing to convert to.
    if compiled_branches and all(b != _Node() for b in compiled_branches):
        node.branches = tuple(compiled_branches)
    node.parts = tuple(p for p in (_compile(s) for s in schema.get("allOf") or ()) if p)
    if node == _Node():
        return None
    node.fast = _fast_types(node)
    node.plain_object = (
        (node.types is None or "object" in node.types)
        and node.enum is None
        and not node.branches
        and not node.parts
    )
    return node


def _fast_types(node: _Node) -> frozenset[type]:
    """The exact Python types a value may have to be taken by ``node`` without a look inside."""
    if node.types is None or node.enum is not None or node.branches or node.parts:
        return frozenset()
    if node.properties or node.additional or node.items:
        return frozenset()
    kinds = node.types | ({"integer"} if "number" in node.types else set())
    exact = frozenset(t for t, kind in _EXACT_KINDS.items() if kind in kinds)
    return (exact | {float}) if "number" in node.types else exact


_converters: dict[int, tuple[Mapping[str, Any], _Node | None]] = {}
_converters_lock = threading.Lock()


def converter_for(schema: Mapping[str, Any]) -> _Node | None:
    """The compiled conversion tree of ``schema`` (cached by identity: schemas are constants)."""
    key = id(schema)
    found = _converters.get(key)  # no lock to read: the engine asks once per task and item
    if found is not None and found[0] is schema:
        return found[1]
    with _converters_lock:
        found = _converters.get(key)
        if found is None or found[0] is not schema:
            found = (schema, _compile(schema))
            _converters[key] = found
        return found[1]


def converts_inside(node: _Node | None) -> bool:
    """Whether ``node`` may change something inside a mapping (arguments are always one)."""
    return node is not None and bool(
        node.properties or node.additional or node.branches or node.parts
    )


def convert_value(
    node: _Node | None, value: Any, *, skip_templates: bool = False, path: tuple[Any, ...] = ()
) -> Any:
    """``value`` converted as ``node`` asks; raises :class:`ConversionError` when it cannot be.

    With ``skip_templates``, strings holding ``{{``/``{%`` are left alone (they
    are converted once rendered).
    """
    if node is None:
        return value
    return (_SKIPPING if skip_templates else _CONVERTING).convert(node, value, path)


@dataclass(frozen=True)
class _Converter:
    skip_templates: bool

    def convert(self, node: _Node, value: Any, path: tuple[Any, ...]) -> Any:
        if type(value) in node.fast:
            return value
        if node.plain_object and type(value) is dict:
            return self._mapping(node, value, path)  # a step's arguments, most often
        if self.skip_templates and isinstance(value, str) and ("{{" in value or "{%" in value):
            return value
        if not node.accepts(value) and _kind(value) != "unknown":
            # (A value of no JSON type, such as a Secret, is the schema check's to judge.)
            value = self._coerce(node, value, path)
        for part in node.parts:
            value = self.convert(part, value, path)
        if node.branches:
            fitting = next((b for b in node.branches if b.accepts(value)), None)
            if fitting is not None:
                value = self.convert(fitting, value, path)
        if isinstance(value, Mapping) and (node.properties or node.additional):
            value = self._mapping(node, value, path)
        elif isinstance(value, list) and node.items is not None:
            value = self._list(node.items, value, path)
        return value

    def _mapping(self, node: _Node, value: Mapping[Any, Any], path: tuple[Any, ...]) -> Any:
        out: dict[Any, Any] | None = None
        for key, item in value.items():
            sub = node.properties.get(key, node.additional) if isinstance(key, str) else None
            if sub is None or type(item) in sub.fast:
                continue
            converted = self.convert(sub, item, (*path, key))
            if converted is not item:
                if out is None:
                    out = dict(value)
                out[key] = converted
        return value if out is None else out

    def _list(self, node: _Node, value: list[Any], path: tuple[Any, ...]) -> list[Any]:
        converted = [self.convert(node, item, (*path, i)) for i, item in enumerate(value)]
        return value if all(a is b for a, b in zip(converted, value, strict=True)) else converted

    def _coerce(self, node: _Node, value: Any, path: tuple[Any, ...]) -> Any:
        """Change the type of a value ``node`` does not accept, or raise."""
        if node.types is not None or node.enum is not None:
            for target in node.targets():
                converted = _to(target, value)
                if converted is _NO:
                    continue
                in_enum = node.enum is None or any(_same(converted, e) for e in node.enum)
                if in_enum and (
                    not node.branches or any(b.accepts(converted) for b in node.branches)
                ):
                    return converted
            targets = node.targets()
            if targets and node.types is not None and not node.branches:
                raise ConversionError(path, value, targets)
        if node.branches:
            return self._branch(node, value, path)
        return value  # an enum of other values: the validator names them

    def _branch(self, node: _Node, value: Any, path: tuple[Any, ...]) -> Any:
        """The one conversion that some ``anyOf``/``oneOf`` branch takes, if only one does."""
        results: list[Any] = []
        for branch in node.branches:
            for target in branch.targets():
                converted = _to(target, value)
                if converted is _NO:
                    continue
                if branch.accepts(converted) and not any(
                    _kind(r) == _kind(converted) and r == converted for r in results
                ):
                    results.append(converted)
                break
        if len(results) > 1:
            # Splitting a string on commas fits almost anything: it counts only when
            # no other branch takes the value ("3" is 3, not ["3"]).
            results = [r for r in results if not isinstance(r, list)] or results
        if len(results) == 1:
            return results[0]
        if not results and all(b.enum is None for b in node.branches):
            targets = tuple(dict.fromkeys(t for b in node.branches for t in b.targets()))
            raise ConversionError(path, value, targets)
        return value  # ambiguous, or not in an enum: the validator says which values fit


_SKIPPING = _Converter(skip_templates=True)
_CONVERTING = _Converter(skip_templates=False)


def _to(target: str, value: Any) -> Any:
    """``value`` as a ``target`` JSON type, the way Ansible converts module arguments."""
    convert = _CONVERSIONS.get(target)
    if convert is None:
        return _NO
    return convert(value, _kind(value))


def _to_integer(value: Any, kind: str) -> Any:
    if kind not in ("string", "number"):
        return _NO
    try:
        number = decimal.Decimal(str(value).strip())
        whole = int(number)
    except (decimal.DecimalException, ValueError, OverflowError):
        return _NO
    if number != whole:
        return _NO
    return whole


def _to_number(value: Any, kind: str) -> Any:
    if kind != "string":
        return _NO
    text = value.strip()
    for parse in (int, float):
        try:
            return parse(text)
        except ValueError:
            pass
    return _NO


def _to_boolean(value: Any, kind: str) -> Any:
    if kind == "string":
        text = value.strip().lower()
        if text in _TRUE or text in _FALSE:
            return text in _TRUE
    elif kind in ("integer", "number") and value in (0, 1):
        return bool(value)
    return _NO


def _to_string(value: Any, kind: str) -> Any:
    if value is None:
        return ""  # as Ansible: an unset value is an empty string
    if kind not in ("integer", "number", "boolean"):
        return _NO
    return str(value)


def _to_array(value: Any, kind: str) -> Any:
    if kind == "string":
        return list(value.split(","))
    if kind in ("integer", "number"):
        return [str(value)]
    return _NO


def _to_object(value: Any, kind: str) -> Any:
    if kind != "string":
        return _NO
    if value.startswith("{"):
        return _literal_dict(value)
    if "=" not in value:
        return _NO
    pairs = [field.split("=", 1) for field in _dict_fields(value.strip())]
    if any(len(pair) != 2 for pair in pairs):
        return _NO
    return dict(pairs)


_CONVERSIONS: dict[str, Any] = {
    "integer": _to_integer,
    "number": _to_number,
    "boolean": _to_boolean,
    "string": _to_string,
    "array": _to_array,
    "object": _to_object,
}


def _literal_dict(text: str) -> Any:
    """A mapping written as JSON (or as a Python literal, which Ansible also reads)."""
    try:
        loaded = json.loads(text)
    except ValueError:
        try:
            loaded = ast.literal_eval(text)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return _NO
    if not isinstance(loaded, dict):
        return _NO
    return loaded


def _dict_fields(text: str) -> list[str]:
    """``a=1, b='x y'`` -> ``["a=1", "b=x y"]``: split on commas and spaces outside quotes."""
    fields: list[str] = []
    buffer: list[str] = []
    quote: str | None = None
    escaped = False
    for char in text:
        if escaped:
            buffer.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif quote is None and char in "'\"":
            quote = char
        elif quote is not None and char == quote:
            quote = None
        elif quote is None and char in ", ":
            if buffer:
                fields.append("".join(buffer))
            buffer = []
        else:
            buffer.append(char)
    if buffer:
        fields.append("".join(buffer))
    return fields
