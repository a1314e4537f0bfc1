"""The ``ping`` step: Ansible's ``ping`` module, a task that proves a host answers.

It opens the host's connection and runs ``true`` there; a host that cannot be reached
is unreachable, as with any step. The result is ``ping: pong`` (or ``ping: <data>``),
never changed; ``data: crash`` fails the task, as Ansible's module raises on purpose.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from corral import StepContext, StepResult

__all__ = ["PING_SCHEMA", "ping"]

PING_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "data": {
            "type": "string",
            "default": "pong",
            "description": "What `ping` returns; `crash` makes the task fail instead.",
        },
    },
}


def ping(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Run ``true`` on the host over its connection, and answer ``pong``."""
    result = ctx.conn.run(["true"], timeout=ctx.timeout, become=ctx.become)
    if result.timed_out or result.rc != 0:
        detail = "timed out" if result.timed_out else (result.stderr.strip() or f"rc={result.rc}")
        return StepResult(failed=True, msg=f"the host could not run a command: {detail}")
    data = str(args.get("data", "pong"))
    if data == "crash":
        return StepResult(failed=True, msg="boom")
    return StepResult(data={"ping": data})
