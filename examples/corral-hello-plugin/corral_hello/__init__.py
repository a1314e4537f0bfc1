"""An example corral plugin: one step type, ``hello.greet``.

A plugin is an ordinary module: plain functions plus a ``@hookimpl`` that
registers them. Nothing here imports pluggy or subclasses anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from corral import RegisterStep, StepContext, StepResult, StepType, hookimpl

GREET_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "description": "who to greet", "default": "world"},
        "shout": {"type": "boolean", "description": "greet in capitals", "default": False},
    },
}


def greet(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Greet someone; the greeting lands in ``msg`` and in ``greeting``."""
    text = f"Hello, {args.get('name', 'world')}, from {ctx.host}!"
    if args.get("shout"):
        text = text.upper()
    return StepResult(msg=text, data={"greeting": text})


@hookimpl
def corral_register_steps(register: RegisterStep) -> None:
    register(
        StepType(
            name="hello.greet",
            run=greet,
            schema=GREET_SCHEMA,
            free_form="name",
            check_mode=True,
            description="Say hello.",
        )
    )
