"""``validate_argument_spec``: check a role's arguments against ``meta/argument_specs.yml``.

The loader puts this step first in a role that has an argument spec, as Ansible does.
Each option is looked up in the given arguments, then in the host's variables (role
defaults, params, vars...); a required option that nothing defines, a value of the wrong
type or one outside ``choices`` fails the task, naming the option.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from corral import RegisterStep, StepContext, StepResult, StepType, TemplateError

__all__ = ["ARGSPEC_SCHEMA", "register_steps", "validate_argument_spec"]

ARGSPEC_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["argument_spec"],
    "properties": {
        "argument_spec": {
            "type": "object",
            "description": "The options, as in `meta/argument_specs.yml`: name to "
            "`{type, required, choices, elements, default}`.",
        },
        "provided_arguments": {
            "type": "object",
            "description": "Values to check first, before the host's variables.",
        },
    },
}

_TRUE = ("yes", "on", "1", "true", "y", "t")
_FALSE = ("no", "off", "0", "false", "n", "f")


def _to_bool(value: Any) -> tuple[Any, bool]:
    if isinstance(value, bool):
        return value, True
    text = str(value).strip().lower()
    return text in _TRUE, text in _TRUE + _FALSE


def _to_number(kind: type) -> Any:
    def convert(value: Any) -> tuple[Any, bool]:
        try:
            return kind(value), not isinstance(value, bool)
        except (TypeError, ValueError):
            return value, False

    return convert


def _to_list(value: Any) -> tuple[Any, bool]:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",")], True
    return value, isinstance(value, list)


_CONVERTERS: dict[str, Any] = {
    "str": lambda v: (str(v), True) if not isinstance(v, dict | list) else (v, False),
    "path": lambda v: (v, isinstance(v, str)),
    "bool": _to_bool,
    "int": _to_number(int),
    "float": _to_number(float),
    "list": _to_list,
    "dict": lambda v: (v, isinstance(v, dict)),
}


def _convert(value: Any, kind: str) -> tuple[Any, bool]:
    """``value`` as Ansible's ``type`` converts it, and whether it could."""
    converter = _CONVERTERS.get(kind)
    if converter is None or value is None:
        return value, True  # raw, or a type corral does not check
    result: tuple[Any, bool] = converter(value)
    return result


def _lookup(ctx: StepContext, name: str, provided: Mapping[str, Any]) -> tuple[bool, Any]:
    if name in provided:
        return True, provided[name]
    if name not in ctx.vars:
        return False, None
    try:
        return True, ctx.render("{{ " + name + " }}", None)
    except TemplateError:
        return False, None


def validate_argument_spec(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Check the role's arguments against its spec; fail naming every problem."""
    spec = args["argument_spec"]
    provided = args.get("provided_arguments") or {}
    problems: list[str] = []
    for name, given in spec.items():
        option = given or {}
        found, value = _lookup(ctx, str(name), provided)
        if not found:
            if option.get("required"):
                problems.append(f"missing required arguments: {name}")
            continue
        kind = str(option.get("type", "str"))
        converted, ok = _convert(value, kind)
        if not ok:
            problems.append(
                f"argument '{name}' is of type {type(value).__name__} and "
                f"we were unable to convert to {kind}"
            )
            continue
        elements = option.get("elements")
        if elements and isinstance(converted, list):
            for item in converted:
                if not _convert(item, str(elements))[1]:
                    problems.append(f"elements of argument '{name}' must be {elements}")
                    break
        choices = option.get("choices")
        if choices and value is not None:
            values = converted if isinstance(converted, list) else [converted]
            bad = [v for v in values if v not in choices]
            if bad:
                problems.append(
                    f"value of {name} must be one of: {', '.join(map(str, choices))}, got: "
                    f"{', '.join(map(str, bad))}"
                )
    if problems:
        return StepResult(
            failed=True,
            msg="Validation of arguments failed:\n" + "\n".join(problems),
            data={"argument_errors": problems},
        )
    return StepResult(msg="The arg spec validation passed", data={"validate_args_context": {}})


def register_steps(register: RegisterStep) -> None:
    """Register ``validate_argument_spec``."""
    register(
        StepType(
            name="validate_argument_spec",
            run=validate_argument_spec,
            schema=ARGSPEC_SCHEMA,
            aliases=(
                "ansible.builtin.validate_argument_spec",
                "ansible.legacy.validate_argument_spec",
            ),
            check_mode=True,
            on="controller",
            description="Check a role's arguments against its argument spec.",
        )
    )
