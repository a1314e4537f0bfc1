"""What a finished command reports, in Ansible's shape: shared by the command steps and ``raw``."""

from __future__ import annotations

from typing import Any

from corral import CommandResult, StepContext, StepResult

__all__ = ["command_outcome"]


def command_outcome(
    ctx: StepContext, result: CommandResult, data: dict[str, Any], *, strip: bool
) -> StepResult:
    """Turn a finished command into Ansible's result: failed on a non-zero rc or a timeout."""
    stdout, stderr = result.stdout, result.stderr
    if strip:
        stdout, stderr = stdout.rstrip("\r\n"), stderr.rstrip("\r\n")
    if result.timed_out:
        msg = f"command timed out after {ctx.timeout:g} seconds" if ctx.timeout else "timed out"
    else:
        msg = "non-zero return code" if result.rc != 0 else ""
    return StepResult(
        changed=True,
        failed=bool(msg),
        timed_out=result.timed_out,
        msg=msg,
        rc=result.rc,
        stdout=stdout,
        stderr=stderr,
        data=data,
    )
