"""A quick pass over a JSON Schema that can only say "valid", before jsonschema is asked.

Importing jsonschema costs about 30 ms (it loads every draft's metaschema), a tenth of a
command's start, and its validators are slow per call. Most task arguments and play
keywords are plainly valid, and the schemas corral and its plugins write use a small
set of keywords. :func:`surely_valid` walks the instance with those keywords, exactly as
JSON Schema draft 2020-12 (and jsonschema's type checker) defines them, and answers
True only when the instance is valid. For anything else (an error, a keyword it does
not know, a value it is unsure of) it answers False and the caller asks jsonschema, which
stays the judge and writes the messages. So a wrong answer here can only cost time.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Mapping, Sized
from typing import Any, cast

__all__ = ["surely_valid"]

# Keywords that do not constrain the instance.
_ANNOTATIONS = frozenset(
    ("description", "default", "title", "examples", "deprecated", "$comment", "readOnly")
)

# Three answers: the instance is valid (True), it is not (False), or this pass cannot tell.
_Answer = bool | None


def surely_valid(schema: Mapping[str, Any], instance: Any) -> bool:
    """True only when ``instance`` is valid against ``schema`` (False: ask jsonschema)."""
    return _check(schema, instance) is True


def _check(schema: Any, instance: Any) -> _Answer:
    if schema is True:
        return True
    if schema is False:
        return False
    if not isinstance(schema, Mapping):
        return None
    answer: _Answer = True
    for keyword, value in schema.items():
        if keyword in _ANNOTATIONS:
            continue
        check = _KEYWORDS.get(keyword)
        if check is None:
            return None  # a keyword this pass does not know: let jsonschema judge
        found = check(value, instance, schema)
        if found is False:
            return False
        if found is None:
            answer = None
    return answer


# jsonschema's draft 2020-12 type checker: bool is not a number, 1.0 is an integer.
_PLAIN_TYPES: dict[str, Any] = {
    "string": lambda x: isinstance(x, str),
    "object": lambda x: isinstance(x, dict),
    "array": lambda x: isinstance(x, list),
    "boolean": lambda x: isinstance(x, bool),
    "null": lambda x: x is None,
}


def _is_type(name: str, instance: Any) -> _Answer:
    plain = _PLAIN_TYPES.get(name)
    if plain is not None:
        return bool(plain(instance))
    if name not in ("integer", "number"):
        return None
    if isinstance(instance, bool):
        return False
    if name == "integer" and isinstance(instance, float):
        return instance.is_integer()
    return isinstance(instance, int if name == "integer" else numbers.Number)


def _type(value: Any, instance: Any, schema: Any) -> _Answer:
    names = [value] if isinstance(value, str) else value
    answers = [_is_type(name, instance) for name in names]
    if True in answers:
        return True
    return False if all(a is False for a in answers) else None


def _properties(value: Any, instance: Any, schema: Any) -> _Answer:
    if not isinstance(instance, dict):
        return True
    return _all(_check(value[key], item) for key, item in instance.items() if key in value)


def _additional(value: Any, instance: Any, schema: Any) -> _Answer:
    if not isinstance(instance, dict):
        return True
    if "patternProperties" in schema:
        return None
    known = schema.get("properties", {})
    return _all(_check(value, item) for key, item in instance.items() if key not in known)


def _required(value: Any, instance: Any, schema: Any) -> _Answer:
    return not isinstance(instance, dict) or all(key in instance for key in value)


def _items(value: Any, instance: Any, schema: Any) -> _Answer:
    if not isinstance(instance, list):
        return True
    if "prefixItems" in schema:
        return None
    return _all(_check(value, item) for item in instance)


def _enum(value: Any, instance: Any, schema: Any) -> _Answer:
    if any(_same(choice, instance) for choice in value):
        return True
    return False if isinstance(instance, str) else None  # a string equals only a string


def _property_names(value: Any, instance: Any, schema: Any) -> _Answer:
    return not isinstance(instance, dict) or _all(_check(value, key) for key in instance)


def _same(choice: Any, instance: Any) -> bool:
    """Surely equal as jsonschema compares: strings as strings, else the same type too
    (it tells 1 from True, but not 1 from 1.0: that case is left to it)."""
    if isinstance(choice, str) or isinstance(instance, str):
        return isinstance(choice, str) and isinstance(instance, str) and choice == instance
    return type(choice) is type(instance) and choice == instance


def _any_of(value: Any, instance: Any, schema: Any) -> _Answer:
    answers = [_check(branch, instance) for branch in value]
    if True in answers:
        return True
    return False if all(a is False for a in answers) else None


def _one_of(value: Any, instance: Any, schema: Any) -> _Answer:
    answers = [_check(branch, instance) for branch in value]
    if None in answers:
        return None
    return answers.count(True) == 1


def _not(value: Any, instance: Any, schema: Any) -> _Answer:
    answer = _check(value, instance)
    return None if answer is None else not answer


def _if(value: Any, instance: Any, schema: Any) -> _Answer:
    condition = _check(value, instance)
    if condition is None:
        return None
    branch = schema.get("then" if condition else "else", True)
    return _check(branch, instance)


def _branch(value: Any, instance: Any, schema: Any) -> _Answer:
    return True  # ``then``/``else`` are applied by ``if``; alone they do nothing


def _number_bound(test: Any) -> Any:
    def check(value: Any, instance: Any, schema: Any) -> _Answer:
        if isinstance(instance, bool) or not isinstance(instance, numbers.Number):
            return True  # bounds apply to numbers only
        if not isinstance(instance, int | float):
            return None  # Decimal, Fraction: left to jsonschema
        return bool(test(instance, value))

    return check


def _size_bound(kind: type, least: bool) -> Any:
    def check(value: Any, instance: Any, schema: Any) -> _Answer:
        if not isinstance(instance, kind):
            return True
        size = len(cast("Sized", instance))
        return bool(size >= value if least else size <= value)

    return check


def _pattern(value: Any, instance: Any, schema: Any) -> _Answer:
    # jsonschema matches with Python's re.search too.
    if not isinstance(instance, str):
        return True
    try:
        return re.search(value, instance) is not None
    except re.error:
        return None


def _all(answers: Any) -> _Answer:
    result: _Answer = True
    for answer in answers:
        if answer is False:
            return False
        if answer is None:
            result = None
    return result


_KEYWORDS = {
    "type": _type,
    "properties": _properties,
    "additionalProperties": _additional,
    "required": _required,
    "items": _items,
    "enum": _enum,
    "anyOf": _any_of,
    "oneOf": _one_of,
    "not": _not,
    "if": _if,
    "then": _branch,
    "else": _branch,
    "minimum": _number_bound(lambda n, bound: n >= bound),
    "maximum": _number_bound(lambda n, bound: n <= bound),
    "exclusiveMinimum": _number_bound(lambda n, bound: n > bound),
    "exclusiveMaximum": _number_bound(lambda n, bound: n < bound),
    "minLength": _size_bound(str, least=True),
    "maxLength": _size_bound(str, least=False),
    "minItems": _size_bound(list, least=True),
    "minProperties": _size_bound(dict, least=True),
    "maxProperties": _size_bound(dict, least=False),
    "propertyNames": _property_names,
    "maxItems": _size_bound(list, least=False),
    "pattern": _pattern,
}
