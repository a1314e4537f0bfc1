"""An example corral plugin: a step type, ``hello.greet``, and a trigger, ``hello.every``.

A plugin is an ordinary module: plain functions plus a ``@hookimpl`` that
registers them. Nothing here imports pluggy or subclasses anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from corral import (
    RegisterStep,
    RegisterTrigger,
    StepContext,
    StepResult,
    StepType,
    TriggerContext,
    TriggerType,
    hookimpl,
)

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


EVERY_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["seconds"],
    "properties": {
        "seconds": {"type": "integer", "minimum": 1, "description": "time between runs"},
    },
}


def every(ctx: TriggerContext, args: Mapping[str, Any]) -> None:
    """Fire the playbook every ``seconds``, until the server stops the trigger."""
    count = 0
    while not ctx.stopping.wait(args["seconds"]):
        count += 1
        ctx.fire({"tick": count})


@hookimpl
def corral_register_triggers(register: RegisterTrigger) -> None:
    register(
        TriggerType(
            name="hello.every",
            watch=every,
            schema=EVERY_SCHEMA,
            description="Run every few seconds.",
        )
    )
