"""A playbook's ``params:`` as an HTML form, and the submitted form back as typed params.

Each declared param (:class:`corral.playbook.params.ParamSpec`, a JSON Schema plus
``secret``) becomes one field: ``enum`` a select, ``boolean`` a checkbox, ``integer`` and
``number`` number inputs, ``array``/``object`` a JSON text area, ``secret`` a password
input whose value is never sent back to the browser, anything else a text input. Its
``description`` is the help text; a param without a default is required.

Submitted text goes through corral's own conversion and validation
(:func:`~corral.playbook.params.check_params`, as ``corral run -p key=value``): the
result is the typed params or each field's messages.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from corral.playbook.params import ParamSpec, check_params, typed_text

__all__ = ["Field", "form_fields", "params_from_form"]

CHECKED = "true"  # a checkbox's value when ticked; unticked, the browser sends nothing


@dataclass(frozen=True)
class Field:
    """One form field of a param, ready for a template."""

    name: str
    kind: str  # text, number, checkbox, select, password, textarea
    required: bool
    value: str  # what the field shows ("" for a secret, always)
    help: str = ""
    choices: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()
    checked: bool = False
    attrs: Mapping[str, str] = field(default_factory=dict)  # step, min, max...

    @property
    def dom_id(self) -> str:
        return f"param-{self.name}"


def form_fields(
    specs: Mapping[str, ParamSpec],
    submitted: Mapping[str, str] | None = None,
    errors: Mapping[str, list[str]] | None = None,
) -> list[Field]:
    """The fields, showing ``submitted`` values (after an error) or else the defaults."""
    return [_field(spec, submitted, (errors or {}).get(name, [])) for name, spec in specs.items()]


def _field(spec: ParamSpec, submitted: Mapping[str, str] | None, errors: list[str]) -> Field:
    schema = spec.schema
    kinds = _types(schema)
    if submitted is not None:
        value = submitted.get(spec.name, "")
    elif "default" in schema:
        value = _text(schema["default"])
    else:
        value = ""
    common: dict[str, Any] = {
        "name": spec.name,
        "help": _help(spec),
        "errors": tuple(errors),
        # A checkbox unticked is a value (false), never a missing one.
        "required": spec.required and kinds != ["boolean"],
    }
    if spec.secret:
        return Field(kind="password", value="", **common)
    if "enum" in schema:
        return Field(
            kind="select", value=value, choices=tuple(_text(c) for c in schema["enum"]), **common
        )
    if kinds == ["boolean"]:
        ticked = value.lower() in ("true", "1", "yes", "on") if isinstance(value, str) else False
        return Field(kind="checkbox", value=CHECKED, checked=ticked, **common)
    if kinds and set(kinds) <= {"integer", "number"}:
        attrs = {"step": "1" if kinds == ["integer"] else "any"}
        for key, attr in (("minimum", "min"), ("maximum", "max")):
            if key in schema:
                attrs[attr] = _text(schema[key])
        return Field(kind="number", value=value, attrs=attrs, **common)
    if kinds and set(kinds) <= {"array", "object"}:
        return Field(kind="textarea", value=value, **common)
    return Field(kind="text", value=value, **common)


def params_from_form(
    specs: Mapping[str, ParamSpec], form: Mapping[str, str]
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The typed params of a submitted form and each field's problems (empty when none).

    An empty field is a param not given (its default applies, or it is required); an
    unticked checkbox is false. Fields the playbook does not declare are ignored (the
    form's own, such as its CSRF token).
    """
    given: dict[str, Any] = {}
    for name, spec in specs.items():
        text = form.get(name, "")
        choices = {_text(c): c for c in spec.schema.get("enum", ())}
        if _types(spec.schema) == ["boolean"] and not choices:
            given[name] = text == CHECKED
        elif text in choices:  # a choice keeps its declared type (enum: [1, 2])
            given[name] = choices[text]
        elif text != "":
            given[name] = typed_text(text)
    return check_params(specs, given)


def _types(schema: Mapping[str, Any]) -> list[str]:
    kind = schema.get("type")
    return [kind] if isinstance(kind, str) else list(kind or [])


def _text(value: Any) -> str:
    """A value as a person types it: JSON for lists, objects, booleans and null."""
    if isinstance(value, str):
        return value
    return json.dumps(value)


def _help(spec: ParamSpec) -> str:
    schema = spec.schema
    notes = [spec.description] if spec.description else []
    for key, label in (("minimum", "at least"), ("maximum", "at most"), ("pattern", "matching")):
        if key in schema:
            notes.append(f"{label} {schema[key]}")
    if _types(schema) and set(_types(schema)) <= {"array", "object"}:
        notes.append("as JSON")
    if spec.secret:
        notes.append("secret: never shown again")
    return "; ".join(notes)
