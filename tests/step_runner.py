"""Running step types directly, as plugin authors test them, with corral's own templater."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any

from jsonschema import Draft202012Validator

from corral import StepContext, StepResult, StepType


def registered_steps(*modules: ModuleType) -> dict[str, StepType]:
    """The step types the plugin modules register, by name."""
    found: list[StepType] = []
    for module in modules:
        module.corral_register_steps(register=found.append)
    return {step.name: step for step in found}


def run_step(
    steps: Mapping[str, StepType], name: str, ctx: StepContext, args: Mapping[str, Any]
) -> StepResult:
    """Validate ``args`` against the step's schema, as the loader does, then run the step."""
    step = steps[name]
    Draft202012Validator(step.schema).validate(args)
    return step.run(ctx, args)


def make_render(variables: Mapping[str, Any]) -> Callable[[str, Mapping[str, Any] | None], Any]:
    """``ctx.render`` as the engine gives it: corral's templater, with the ``jinja`` plugin."""
    from jinja_templar import jinja_templar

    templar = jinja_templar()

    def render(text: str, extra: Mapping[str, Any] | None = None) -> Any:
        return templar.render(text, {**variables, **(extra or {})})

    return render
