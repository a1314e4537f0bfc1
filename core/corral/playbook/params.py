"""Typed playbook inputs: ``params:`` declared on plays, given with ``-p``, checked up front.

::

    params:
      version: {type: string, pattern: "^\\\\d+\\\\.\\\\d+\\\\.\\\\d+$", description: the release}
      drain_seconds: {type: integer, minimum: 0, maximum: 600, default: 30}
      db_password: {type: string, secret: true}

Each declaration is a JSON Schema plus ``secret`` (the value is wrapped in
:class:`corral.Secret`: it renders into commands but is redacted everywhere
else) and ``description``. ``-p key=value`` strings are converted to the
declared type before validation; every problem is reported at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corral.errors import Location, ParamsError, PlaybookError, UsageError, did_you_mean
from corral.playbook.yaml.read import loads_json
from corral.secrets import Secret

__all__ = [
    "ParamSpec",
    "check_params",
    "collect_params",
    "params_from_extra_vars",
    "params_help",
    "parse_param_args",
    "resolve_params",
    "typed_text",
]

_NOT_SCHEMA = ("secret",)
_TRUE = ("1", "true", "yes", "on", "y")
_FALSE = ("0", "false", "no", "off", "n")


@dataclass(frozen=True)
class ParamSpec:
    """One declared param."""

    name: str
    schema: Mapping[str, Any]
    secret: bool
    location: Location

    @property
    def required(self) -> bool:
        return "default" not in self.schema

    @property
    def description(self) -> str:
        return str(self.schema.get("description", ""))


def collect_params(plays: Sequence[Any]) -> dict[str, ParamSpec]:
    """Every play's ``params:``; the same name declared twice must be declared alike."""
    specs: dict[str, ParamSpec] = {}
    for play in plays:
        if not play.params:
            continue
        from jsonschema import Draft202012Validator, SchemaError

        for name, declared in play.params.items():
            where = play.location
            if not isinstance(declared, Mapping):
                raise PlaybookError(
                    f"param {name!r} must be declared as a mapping (type, default, ...)",
                    location=where,
                )
            schema = {k: v for k, v in declared.items() if k not in _NOT_SCHEMA}
            try:
                Draft202012Validator.check_schema(schema)
            except SchemaError as exc:
                raise PlaybookError(
                    f"param {name!r} has an invalid declaration: {exc.message}", location=where
                ) from None
            spec = ParamSpec(str(name), schema, bool(declared.get("secret", False)), where)
            known = specs.get(spec.name)
            if known is not None and (known.schema, known.secret) != (spec.schema, spec.secret):
                raise PlaybookError(
                    f"param {name!r} is declared twice, differently",
                    hint=f"the other declaration is at {known.location}",
                    location=where,
                )
            specs[spec.name] = spec
    return specs


def params_from_extra_vars(
    specs: Mapping[str, ParamSpec], extra_vars: Mapping[str, Any]
) -> dict[str, Any]:
    """The ``-e`` values that give declared params a value, to be converted as ``-p`` ones are.

    Any string is converted to the param's type (``-e port=8080`` is an integer for an
    ``integer`` param); typed values from ``-e @file`` or inline JSON are kept.
    """
    return {
        name: _Raw(value) if isinstance(value, str) else value
        for name, value in extra_vars.items()
        if name in specs
    }


def parse_param_args(values: Sequence[str], cwd: Path | None = None) -> dict[str, Any]:
    """``-p key=value`` (a string, converted later) and ``-p @file.yml`` (typed YAML/JSON).

    A value the command line cannot parse (no ``=``, a missing ``@file``) is a
    :class:`UsageError` (exit 5). A file goes through the playbook loader, with its
    bounds; content that cannot be used there is a :class:`PlaybookError` (exit 4), as
    a value that fails its param's schema is a :class:`ParamsError` (exit 4).
    """
    from corral.playbook.yaml.read import load_vars_argument

    given: dict[str, Any] = {}
    for value in values:
        if value.startswith("@"):
            given.update(load_vars_argument("-p", value, cwd))
            continue
        key, sep, text = value.partition("=")
        if not sep or not key.strip():
            raise UsageError(
                f"-p {value!r} is not KEY=VALUE", hint="use -p version=1.2.3 or -p @params.yml"
            )
        given[key.strip()] = _Raw(text)
    return given


class _Raw(str):
    """A value typed on the command line, still to be converted to its param's type."""


def _convert(value: Any, schema: Mapping[str, Any]) -> Any:
    if not isinstance(value, _Raw):
        return value
    types = schema.get("type")
    kinds = [types] if isinstance(types, str) else list(types or [])
    text = str(value)
    for kind in kinds:
        try:
            if kind == "integer":
                return int(text)
            if kind == "number":
                return float(text)
            if kind == "boolean" and text.lower() in _TRUE + _FALSE:
                return text.lower() in _TRUE
            if kind in ("array", "object"):
                return loads_json(text)  # bounded: deep nesting is a ValueError too
        except ValueError:
            continue
    return text


def resolve_params(specs: Mapping[str, ParamSpec], given: Mapping[str, Any]) -> dict[str, Any]:
    """Apply defaults, convert and validate.

    Raises one :class:`ParamsError` listing every problem.
    """
    values, problems = check_params(specs, given)
    if problems:
        raise ParamsError(
            "invalid params: "
            + "; ".join(
                message if name == "" else f"{name}: {message}"
                for name, messages in problems.items()
                for message in messages
            ),
            hint="see 'corral run --help-params PLAYBOOK'",
        )
    return {
        name: Secret(str(value)) if specs[name].secret and value is not None else value
        for name, value in values.items()
    }


def check_params(
    specs: Mapping[str, ParamSpec], given: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Apply defaults, convert and validate, problem by problem: the values (secrets not
    wrapped yet) and each param's problems by name (unknown params under ``""``), for a
    form that shows each message next to its field."""
    problems: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    for name in given:
        if name not in specs:
            hint = did_you_mean(name, specs)
            problems.setdefault("", []).append(
                f"unknown param {name!r}" + (f" ({hint})" if hint else "")
            )
    for name, spec in specs.items():
        if name in given:
            value = _convert(given[name], spec.schema)
        elif not spec.required:
            value = spec.schema["default"]
        else:
            problems.setdefault(name, []).append(
                "required" + (f" ({spec.description})" if spec.description else "")
            )
            continue
        from jsonschema import Draft202012Validator

        for error in Draft202012Validator(spec.schema).iter_errors(value):
            shown = "********" if spec.secret else None
            message = error.message if shown is None else error.message.replace(repr(value), shown)
            problems.setdefault(name, []).append(message)
        values[name] = value
    return values, problems


def typed_text(text: str) -> str:
    """A value typed by a person (a form field, ``-p key=value``): converted to its
    param's type by :func:`check_params` (``"8080"`` for an integer param is 8080)."""
    return _Raw(text)


def params_help(specs: Mapping[str, ParamSpec]) -> str:
    """The text ``corral run --help-params`` prints."""
    if not specs:
        return "This playbook declares no params."
    lines = ["Params (give them with -p name=value or -p @file.yml):", ""]
    for spec in specs.values():
        schema = spec.schema
        kind = schema.get("type", "any")
        details = [str(kind) if isinstance(kind, str) else "|".join(kind)]
        for key, label in (
            ("enum", "one of"),
            ("minimum", "min"),
            ("maximum", "max"),
            ("pattern", "pattern"),
        ):
            if key in schema:
                shown = ", ".join(map(str, schema[key])) if key == "enum" else schema[key]
                details.append(f"{label} {shown}")
        if spec.secret:
            details.append("secret")
        status = "required" if spec.required else f"default {schema['default']!r}"
        lines.append(f"  {spec.name}  ({'; '.join(details)}; {status})")
        if spec.description:
            lines.append(f"      {spec.description}")
    return "\n".join(lines)
