"""The ``approval`` step: pause the run until a person approves, rejects, or the timeout decides.

Answer at the terminal (when the run is interactive) or from any shell with
``corral approve RUN [--reject] [--comment TEXT]``. The step runs once per
batch, not once per host; its answer counts on every host of the batch.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from corral import RegisterStep, StepContext, StepResult, StepType

APPROVAL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "message": {"type": "string", "description": "what the approver is asked; templated"},
        "timeout": {
            "type": ["number", "string"],
            "description": "how long to wait: seconds or 30s, 5m, 1h (default 1h)",
        },
        "on_timeout": {
            "type": "string",
            "enum": ["fail", "continue"],
            "description": "what an unanswered request means (default fail)",
        },
        "forbid_starter": {
            "type": "boolean",
            "description": "refuse an answer from whoever started the run (four eyes; "
            "default false)",
        },
    },
}


def approval(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Wait for a decision; rejected or timed out with ``on_timeout: fail`` fails the step."""
    decision = ctx.approve(args)
    approved = bool(decision.get("approved"))
    who = f" by {decision['by']}" if decision.get("by") else ""
    msg = ("approved" if approved else "rejected") + who
    if decision.get("comment"):
        msg += f": {decision['comment']}"
    return StepResult(changed=False, failed=not approved, msg=msg, data=dict(decision))


def register_steps(register: RegisterStep) -> None:
    register(
        StepType(
            name="approval",
            run=approval,
            schema=APPROVAL_SCHEMA,
            on="controller",
            check_mode=False,
            free_form="message",
            once_per_batch=True,
            description="Pause until a person approves or rejects (corral approve RUN).",
        )
    )
