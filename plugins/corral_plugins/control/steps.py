"""Step types that steer a play rather than change a host.

``debug``, ``set_fact``, ``assert``, ``fail``, ``pause`` and ``meta`` run on the
controller and never touch the host; ``wait_for`` (in :mod:`corral_plugins.control.wait`)
is the one that polls it. Expressions (``assert: that``, ``debug: var``) are
rendered with the host's variables through ``ctx.render``.
"""

from __future__ import annotations

import json
import select
import sys
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from corral import RegisterStep, StepContext, StepResult, StepType, TemplateError

__all__ = [
    "ASSERT_SCHEMA",
    "DEBUG_SCHEMA",
    "FAIL_SCHEMA",
    "META_ACTIONS",
    "META_SCHEMA",
    "PAUSE_SCHEMA",
    "SET_FACT_SCHEMA",
    "assert_",
    "debug",
    "fail",
    "meta",
    "pause",
    "set_fact",
]

UNDEFINED = "VARIABLE IS NOT DEFINED!"

_STR_OR_LIST = {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}

DEBUG_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "not": {"required": ["msg", "var"]},
    "properties": {
        "msg": {
            "default": "Hello world!",
            "description": "The message to print; any value (a string, list or mapping).",
        },
        "var": {
            "type": "string",
            "description": "A variable name or expression to print (without `{{ }}`); "
            f"an undefined one prints `{UNDEFINED}`.",
        },
        "verbosity": {
            "type": "integer",
            "minimum": 0,
            "default": 0,
            "description": "Print only when the run's verbosity (`-v` count) is at least this.",
        },
    },
}

SET_FACT_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "minProperties": 1,
    "propertyNames": {"pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
    "properties": {
        "cacheable": {
            "type": "boolean",
            "default": False,
            "description": "Accepted for Ansible compatibility and ignored: "
            "corral keeps no fact cache between runs.",
        },
    },
    # The keys are the variables to set, so any name (a valid identifier) is allowed.
    "additionalProperties": {
        "description": "A host variable to set for the rest of the run; any value.",
    },
}

ASSERT_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["that"],
    "not": {"required": ["msg", "fail_msg"]},
    "properties": {
        "that": {
            "anyOf": [
                {"type": "string"},
                {"type": "boolean"},
                {"type": "array", "items": {"type": ["string", "boolean"]}},
            ],
            "description": "An expression (without `{{ }}`), or a list of them, "
            "that must all be true, e.g. `result.rc == 0`.",
        },
        "fail_msg": {
            **_STR_OR_LIST,
            "description": "The message when an assertion fails (default `Assertion failed`).",
        },
        "msg": {**_STR_OR_LIST, "description": "Another name for `fail_msg`."},
        "success_msg": {
            **_STR_OR_LIST,
            "description": "The message when all assertions pass "
            "(default `All assertions passed`).",
        },
        "quiet": {
            "type": "boolean",
            "default": False,
            "description": "Print less when the assertions pass.",
        },
    },
}

FAIL_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "msg": {
            "default": "Failed as requested from task",
            "description": "The failure message; any value.",
        },
    },
}

PAUSE_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "not": {"required": ["seconds", "minutes"]},
    "properties": {
        "seconds": {
            "type": "number",
            "minimum": 0,
            "description": "How long to pause, in seconds (fractions allowed).",
        },
        "minutes": {
            "type": "number",
            "minimum": 0,
            "description": "How long to pause, in minutes.",
        },
        "prompt": {
            "type": "string",
            "description": "Text shown while pausing. Without `seconds`/`minutes`, corral "
            "waits for Enter when stdin is a terminal, and goes on at once when it is not.",
        },
        "echo": {
            "type": "boolean",
            "default": True,
            "description": "Show what is typed at the prompt.",
        },
    },
}

META_ACTIONS = (
    "flush_handlers",
    "end_play",
    "end_host",
    "noop",
    "clear_facts",
    "clear_host_errors",
    "refresh_inventory",
    "reset_connection",
)

META_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["action"],
    "properties": {
        "action": {
            "enum": list(META_ACTIONS),
            "description": "What the engine should do: " + ", ".join(META_ACTIONS) + ".",
        },
    },
}


# -- debug, set_fact, assert, fail --------------------------------------------


def debug(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Print a message, or the value of a variable or expression."""
    if int(ctx.vars.get("ansible_verbosity", 0) or 0) < args.get("verbosity", 0):
        return StepResult(skipped=True, data={"skipped_reason": "Verbosity threshold not met."})
    if "var" in args:
        expression = args["var"]
        return StepResult(data={expression: _value_of(ctx, expression)})
    message = args.get("msg", "Hello world!")
    return StepResult(msg=_as_text(message), data={"msg": message})


def _value_of(ctx: StepContext, expression: str) -> Any:
    try:
        return ctx.render("{{ " + expression + " }}", None)
    except TemplateError as exc:
        if "undefined" in exc.message.lower():
            return UNDEFINED
        raise


def set_fact(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Set host variables for the rest of the run."""
    values = {name: value for name, value in args.items() if name != "cacheable"}
    return StepResult(set_vars=values)


def assert_(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Fail unless every expression in ``that`` is true."""
    that = args["that"]
    for condition in that if isinstance(that, list) else [that]:
        if not _is_true(ctx, condition):
            message = args.get("fail_msg", args.get("msg", "Assertion failed"))
            return StepResult(
                failed=True,
                msg=_as_text(message),
                data={"assertion": condition, "evaluated_to": False},
            )
    message = args.get("success_msg", "All assertions passed")
    return StepResult(msg=_as_text(message))


def _is_true(ctx: StepContext, condition: str | bool) -> bool:
    """Evaluate a condition as Ansible does: through an ``{% if %}`` that yields True or False.

    This gives the same answer whether the templater returns native values or text.
    """
    if isinstance(condition, bool):
        return condition
    rendered = ctx.render("{% if " + condition + " %}True{% else %}False{% endif %}", None)
    return str(rendered).strip() == "True"


def fail(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Fail with a message."""
    message = args.get("msg", "Failed as requested from task")
    return StepResult(failed=True, msg=_as_text(message))


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return "\n".join(value)
    return json.dumps(value, default=str)


# -- pause ----------------------------------------------------------------------


def pause(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Pause for a time, or until Enter is pressed; a cancelled run wakes it up."""
    started, clock = datetime.now(), time.monotonic()
    seconds = args["minutes"] * 60 if "minutes" in args else args.get("seconds")
    prompt = args.get("prompt")
    user_input = ""
    if seconds is not None:
        if prompt:
            ctx.log(prompt)
        ctx.log(f"Pausing for {seconds:g} seconds")
        if ctx.cancelled.wait(seconds):
            return StepResult(failed=True, msg="pause cancelled")
    else:
        text = prompt or "Press enter to continue, Ctrl+C to interrupt"
        if not _stdin_is_tty():
            ctx.log(f"{text} (not waiting for a response: stdin is not interactive)")
        else:
            ctx.log(f"{text}:")
            answer = _read_line(ctx, echo=args.get("echo", True))
            if answer is None:
                return StepResult(failed=True, msg="pause cancelled")
            user_input = answer
    duration = time.monotonic() - clock
    unit_value = round(duration / 60, 2) if "minutes" in args else round(duration, 2)
    unit = "minutes" if "minutes" in args else "seconds"
    return StepResult(
        rc=0,
        stdout=f"Paused for {unit_value} {unit}",
        stderr="",
        data={
            "start": str(started),
            "stop": str(datetime.now()),
            "delta": int(duration),
            "echo": args.get("echo", True),
            "user_input": user_input,
        },
    )


def _stdin_is_tty() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except ValueError:  # stdin closed
        return False


def _read_line(ctx: StepContext, *, echo: bool) -> str | None:
    """A line from the terminal, or None when the run is cancelled while waiting."""
    import termios

    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    if not echo:
        quiet = termios.tcgetattr(fd)
        quiet[3] &= ~termios.ECHO
        termios.tcsetattr(fd, termios.TCSADRAIN, quiet)
    try:
        while not ctx.cancelled.is_set():
            readable, _, _ = select.select([fd], [], [], 0.2)
            if readable:
                return sys.stdin.readline().rstrip("\r\n")
        return None
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


# -- meta -----------------------------------------------------------------------


def meta(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Ask the engine for a play-level action; the engine reads ``meta_action``."""
    return StepResult(meta_action=args["action"])


# -- registration -----------------------------------------------------------------


def _ansible_names(name: str) -> tuple[str, ...]:
    return (f"ansible.builtin.{name}", f"ansible.legacy.{name}")


def register_steps(register: RegisterStep) -> None:
    """Register ``debug``, ``set_fact``, ``assert``, ``fail``, ``pause`` and ``meta``."""
    steps = (
        ("debug", debug, DEBUG_SCHEMA, None, "Print a message or a variable's value."),
        (
            "set_fact",
            set_fact,
            SET_FACT_SCHEMA,
            None,
            "Set host variables for the rest of the run.",
        ),
        ("assert", assert_, ASSERT_SCHEMA, None, "Fail unless the given expressions are true."),
        ("fail", fail, FAIL_SCHEMA, None, "Fail with a message."),
        ("pause", pause, PAUSE_SCHEMA, None, "Pause for a time or until Enter is pressed."),
        ("meta", meta, META_SCHEMA, "action", "Ask the engine to flush handlers, end the play..."),
    )
    for name, run, schema, free_form, description in steps:
        register(
            StepType(
                name=name,
                run=run,
                schema=schema,
                aliases=_ansible_names(name),
                check_mode=True,
                on="controller",
                free_form=free_form,
                description=description,
                # pause waits for a person or a clock of its own
                cooperative=name != "pause",
                expressions=("that",) if name == "assert" else (),
            )
        )
