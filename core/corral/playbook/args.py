"""Step arguments: free-form strings, ``key=value`` shorthand, type conversion, validation.

``shell: "echo hi chdir=/tmp"`` becomes ``{"cmd": "echo hi", "chdir": "/tmp"}``
(Ansible's free form); ``file: path={{ d }} state=directory`` becomes a mapping
(split as Ansible splits it, see :mod:`corral.playbook.splitter`). Values are
converted to the types the step's schema declares (:mod:`corral.playbook.convert`)
and checked against the schema at load time, except values that are templates,
which are converted and checked again once rendered.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from corral.errors import Location, PlaybookError
from corral.playbook.convert import (
    ConversionError,
    convert_value,
    converter_for,
    converts_inside,
)
from corral.playbook.schema_check import surely_valid
from corral.playbook.splitter import COMMAND_OPTIONS, SplitError, parse_options
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


# Steps whose free-form string is a command line: only Ansible's command options
# (COMMAND_OPTIONS) are taken out of it, every other word is the command's.
COMMAND_STEPS = frozenset(("command", "shell", "script", "raw"))
# Options Ansible accepts and ignores (``warn`` was removed in ansible-core 2.14).
_IGNORED_OPTIONS = frozenset(("warn",))


def normalize_args(step: StepType, raw: Any, location: Location) -> dict[str, Any]:
    """Turn what a task wrote after the step name into the step's argument mapping.

    A string is split as Ansible's ``parse_kv`` splits it: ``key=value`` words
    are arguments (quotes and Jinja blocks kept whole); the other words are the
    free-form text, which only a step with ``free_form`` takes.
    """
    if raw is None:
        return {}
    if isinstance(raw, Mapping):
        return dict(raw)
    if isinstance(raw, str | int | float) and not isinstance(raw, bool):
        text = str(raw)
        options = free_form_options(step)
        try:
            pairs: dict[str, Any] = parse_options(text, options)
        except SplitError as exc:
            raise PlaybookError(
                f"cannot parse arguments of {step.name!r}: {exc.message}",
                hint="close every quote and every '{{ }}', '{% %}' and '{# #}'",
                location=location,
            ) from exc
        words = pairs.pop("_raw_params", None)
        if step.free_form:
            return _free_form(step, words, pairs, location)
        if words is not None:
            raise PlaybookError(
                f"step {step.name!r} takes a mapping of arguments, not {text!r}",
                hint=f"write it as '{step.name}: {{key: value, ...}}' or 'key=value key=value'",
                location=location,
            )
        return pairs
    if isinstance(raw, list) and step.free_form and "argv" in step.schema.get("properties", {}):
        return {"argv": raw}
    raise PlaybookError(
        f"arguments of {step.name!r} must be a mapping, got {type(raw).__name__}",
        hint=f"write it as '{step.name}: {{key: value, ...}}'",
        location=location,
    )


def merge_args(
    step: StepType, written: Mapping[str, Any], extra: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The task's ``args:`` overlaid with what was written after the step name (as Ansible).

    ``warn`` of a command is dropped: ansible-core 2.14 removed it and refuses it
    now, but older playbooks are full of ``warn=false``.
    """
    merged = {**dict(extra or {}), **written}
    if step.name in COMMAND_STEPS:
        for key in _IGNORED_OPTIONS:
            merged.pop(key, None)
    return merged


def free_form_options(step: StepType) -> frozenset[str] | None:
    """Which ``key=`` words of a free-form string are arguments (None: every one).

    A command line keeps every word except Ansible's command options; other
    free-form steps (meta, approval) take only their own arguments, so that a
    message may hold ``x=1``.
    """
    if not step.free_form:
        return None
    if step.name in COMMAND_STEPS:
        return COMMAND_OPTIONS
    return frozenset(step.schema.get("properties", {})) - {step.free_form}


def _free_form(
    step: StepType, words: str | None, pairs: dict[str, Any], location: Location
) -> dict[str, Any]:
    """The free-form text under the step's ``free_form`` name, beside the options."""
    if words is not None and words.strip():
        pairs[str(step.free_form)] = words.strip()
    elif step.name in COMMAND_STEPS:
        raise PlaybookError(
            f"no command given for {step.name!r}",
            hint=f"write the command after '{step.name}:', e.g. '{step.name}: ls -l chdir=/tmp'",
            location=location,
        )
    return pairs


def convert_args(
    step: StepType,
    args: dict[str, Any],
    location: Location,
    *,
    source: Any = None,
    rendered: bool = False,
) -> dict[str, Any]:
    """``args`` with each value converted to the type the step's schema declares (as Ansible).

    Before rendering, templates are left for later. A value that cannot be
    converted is a :class:`PlaybookError` at the argument, naming the step.
    """
    node = converter_for(step.schema)
    if not converts_inside(node):
        return args
    try:
        converted = convert_value(node, args, skip_templates=not rendered)
    except ConversionError as exc:
        path = list(exc.path)
        where = location_in(source if source is not None else args, path, location)
        field = ".".join(str(p) for p in path)
        raise PlaybookError(
            f"argument {field!r} of step {step.name!r}: {exc.message}",
            hint=exc.hint,
            location=where,
        ) from None
    return dict(converted)


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
    instance = dict(args)
    if surely_valid(step.schema, instance):
        return  # the common case, without jsonschema
    errors = sorted(
        _validator(step.schema).iter_errors(instance), key=lambda e: list(e.absolute_path)
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
