"""The ``wait_for_connection`` step: wait until the host can be reached and run a command.

As Ansible's ``wait_for_connection``: after ``delay`` seconds, the connection is closed
and opened again, and a trivial command run through it, every ``sleep`` seconds, each
try bounded by ``connect_timeout``, until one succeeds or ``timeout`` seconds have gone
by since the step started. Meant for hosts that are booting, being provisioned or
restarting their SSH daemon; an unreachable host is what it waits through, not a failure,
until the time is up. A cancelled run stops the wait. Check mode skips it, as Ansible does.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from corral import CorralError, RegisterStep, StepContext, StepResult, StepType

__all__ = ["WAIT_FOR_CONNECTION_SCHEMA", "register_steps", "wait_for_connection"]


def _seconds(default: int, description: str) -> dict[str, Any]:
    return {"type": "number", "minimum": 0, "default": default, "description": description}


WAIT_FOR_CONNECTION_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "connect_timeout": _seconds(5, "Seconds one try (connect and run) may take."),
        "delay": _seconds(0, "Seconds to wait before the first try."),
        "sleep": _seconds(1, "Seconds between two tries."),
        "timeout": _seconds(600, "Seconds to wait in all, from the step's start."),
    },
}

# What a try runs: any command proves the connection works end to end (Ansible runs its
# ping module, which also proves a Python; corral's steps need none on the host).
_PROBE = ["echo", "pong"]


def wait_for_connection(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Wait until a command runs on the host through its connection."""
    started = time.monotonic()
    deadline = started + float(args.get("timeout", 600))
    if ctx.cancelled.wait(float(args.get("delay", 0))):
        return StepResult(failed=True, msg="wait_for_connection cancelled")
    last = "no try made"
    per_try = float(args.get("connect_timeout", 5))
    while True:
        try:
            # A new connection each try: the old one may be dead. (The first use of the
            # step's connection opens it: that may fail too.)
            ctx.conn.close()
            limit = min(per_try, max(deadline - time.monotonic(), 0.1))
            answer = ctx.conn.run(_PROBE, become=None, timeout=limit)
            if answer.rc == 0 and answer.stdout.strip() == "pong":
                return StepResult(data={"elapsed": int(time.monotonic() - started)})
            last = (answer.stderr or answer.stdout).strip() or f"rc={answer.rc}"
        except CorralError as exc:
            last = exc.message
        pause = float(args.get("sleep", 1))
        if time.monotonic() + pause > deadline:
            elapsed = int(time.monotonic() - started)
            return StepResult(
                failed=True,
                msg=f"timed out waiting for ping module test: {last}",
                data={"elapsed": elapsed},
            )
        if ctx.cancelled.wait(pause):
            return StepResult(failed=True, msg="wait_for_connection cancelled")


def register_steps(register: RegisterStep) -> None:
    """Register ``wait_for_connection``."""
    register(
        StepType(
            name="wait_for_connection",
            run=wait_for_connection,
            schema=WAIT_FOR_CONNECTION_SCHEMA,
            aliases=(
                "ansible.builtin.wait_for_connection",
                "ansible.legacy.wait_for_connection",
            ),
            check_mode=False,
            description="Wait until the host can be reached and runs a command again.",
        )
    )
