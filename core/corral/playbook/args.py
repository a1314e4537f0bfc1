"""Step arguments: free-form strings, ``key=value`` shorthand, and schema validation.

``shell: "echo hi chdir=/tmp"`` becomes ``{"cmd": "echo hi", "chdir": "/tmp"}``
(Ansible's free form); ``file: path=/tmp/x state=directory`` becomes a mapping.
Arguments are checked against the step type's JSON Schema at load time, except
values that are templates, which are checked again once rendered.
"""

from __future__ import annotations

import shlex
import threading
from collections.abc import Mapping
from typing import Any

from corral.errors import Location, PlaybookError
from corral.steps import StepType

_validators: dict[int, Any] = {}
_validators_lock = threading.Lock()


def _validator(schema: Mapping[str, Any]) -> Any:
    """A cached jsonschema validator for ``schema`` (cached by identity: schemas are constants)."""
    key = id(schema)
    with _validators_lock:
        found = _validators.get(key)
        if found is None or found.schema is not schema:
            from jsonschema import Draft202012Validator

            found = Draft202012Validator(schema)
            _validators[key] = found
        return found


def is_templated(value: Any) -> bool:
    """Whether ``value`` holds a Jinja2 expression anywhere inside."""
    if isinstance(value, str):
        return "{{" in value or "{%" in value
    if isinstance(value, Mapping):
        return any(is_templated(k) or is_templated(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(is_templated(v) for v in value)
    return False


def _split_key_values(text: str) -> tuple[list[str], dict[str, str]]:
    """Split ``a b=c 'd e'`` into plain words and ``key=value`` pairs, keeping quotes' meaning."""
    words: list[str] = []
    pairs: dict[str, str] = {}
    lexer = shlex.shlex(text, posix=True, punctuation_chars=False)
    lexer.whitespace_split = True
    for token in lexer:
        key, sep, value = token.partition("=")
        if sep and key.isidentifier():
            pairs[key] = value
        else:
            words.append(token)
    return words, pairs


def normalize_args(step: StepType, raw: Any, location: Location) -> dict[str, Any]:
    """Turn what a task wrote after the step name into the step's argument mapping."""
    if raw is None:
        return {}
    if isinstance(raw, Mapping):
        return dict(raw)
    if isinstance(raw, str | int | float) and not isinstance(raw, bool):
        text = str(raw)
        properties = step.schema.get("properties", {})
        if step.free_form:
            return _free_form(step.free_form, text, properties, location)
        try:
            words, pairs = _split_key_values(text)
        except ValueError as exc:
            raise PlaybookError(
                f"cannot parse arguments of {step.name!r}: {exc}", location=location
            ) from exc
        if words:
            raise PlaybookError(
                f"step {step.name!r} takes a mapping of arguments, not {text!r}",
                hint=f"write it as '{step.name}: {{key: value, ...}}' or 'key=value key=value'",
                location=location,
            )
        return dict(pairs)
    if isinstance(raw, list) and step.free_form and "argv" in step.schema.get("properties", {}):
        return {"argv": raw}
    raise PlaybookError(
        f"arguments of {step.name!r} must be a mapping, got {type(raw).__name__}",
        location=location,
    )


def _free_form(
    name: str, text: str, properties: Mapping[str, Any], location: Location
) -> dict[str, Any]:
    """Peel Ansible's trailing ``key=value`` options (``chdir=/tmp``) off a free-form string."""
    args: dict[str, Any] = {}
    words = text.split(" ")
    # Only options the step knows are peeled, and only from the end, so that
    # "echo a=b" keeps its argument.
    while words:
        key, sep, value = words[-1].partition("=")
        if not sep or key not in properties or key == name:
            break
        args[key] = value
        words.pop()
    args[name] = " ".join(words).strip()
    if not args[name] and name not in ("action",):
        raise PlaybookError(f"no command given for {name!r}", location=location)
    return args


def location_in(node: Any, path: list[Any], fallback: Location) -> Location:
    """Where the item at ``path`` (keys, list indexes) inside YAML-read ``node`` is written."""
    from corral.playbook.yaml.load import MarkedDict, MarkedList, mark_of

    location = fallback
    for key in path:
        mark: Location | None = None
        if isinstance(node, MarkedDict) and key in node:
            mark = node.key_marks.get(key)
            node = node[key]
        elif isinstance(node, MarkedList) and isinstance(key, int) and key < len(node):
            mark = node.item_marks[key] if key < len(node.item_marks) else None
            node = node[key]
        else:
            break
        location = mark or mark_of(node) or location
    return location


def check_args(
    step: StepType,
    args: Mapping[str, Any],
    location: Location,
    *,
    source: Any = None,
    rendered: bool = False,
    partial: bool = False,
) -> None:
    """Raise :class:`PlaybookError` at the offending argument when ``args`` break the schema.

    Before rendering, a value that is a template is not judged (its type is not
    known yet); after rendering (``rendered=True``) everything is. ``partial``
    skips missing required arguments.
    """
    errors = sorted(
        _validator(step.schema).iter_errors(dict(args)), key=lambda e: list(e.absolute_path)
    )
    for error in errors:
        if not rendered and is_templated(error.instance):
            continue
        if partial and _only_missing(error):
            continue  # the caller fills in the rest (e.g. a plugin composes a message later)
        path = list(error.absolute_path)
        where = location_in(source if source is not None else args, path, location)
        field = ".".join(str(p) for p in path)
        message = _schema_message(step, error, field)
        hint = _schema_hint(step, error)
        raise PlaybookError(message, hint=hint, location=where)


def _only_missing(error: Any) -> bool:
    """Whether a schema error is only about absent arguments (``required``, in any branch)."""
    if error.validator == "required":
        return True
    if error.validator in ("anyOf", "oneOf") and error.context:
        return all(_only_missing(sub) for sub in error.context)
    return False


def _unknown_key(error: Any) -> str | None:
    """The first argument an ``additionalProperties`` error is about, at its own level."""
    properties = error.schema.get("properties", {}) if isinstance(error.schema, Mapping) else {}
    extra = [k for k in error.instance if k not in properties]
    return str(extra[0]) if extra else None


def _schema_message(step: StepType, error: Any, field: str) -> str:
    if error.validator == "additionalProperties":
        key = _unknown_key(error)
        if key is None:
            return str(error.message)
        name = f"{field}.{key}" if field else key
        return f"unknown argument {name!r} for step {step.name!r}"
    if error.validator == "required":
        where = f" (in {field!r})" if field else ""
        return f"step {step.name!r}: {error.message}{where}"
    if error.validator == "not":
        return f"argument {field!r} of step {step.name!r} cannot be combined with the others given"
    prefix = (
        f"argument {field!r} of step {step.name!r}" if field else f"arguments of step {step.name!r}"
    )
    return f"{prefix}: {error.message}"


def _schema_hint(step: StepType, error: Any) -> str | None:
    from corral.errors import did_you_mean

    if error.validator == "additionalProperties":
        key = _unknown_key(error)
        properties = error.schema.get("properties", {})
        if key is not None:
            return did_you_mean(key, properties) or "known arguments: " + ", ".join(
                sorted(properties)
            )
    return None
