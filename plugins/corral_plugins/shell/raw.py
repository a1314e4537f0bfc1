"""``raw``: a command line sent through the connection's shell, as Ansible's ``raw``.

Nothing is uploaded and no Python is needed on the host (it is how one bootstraps a
host that has none). Unlike ``shell``, ``stdout`` and ``stderr`` keep their trailing
newlines, there is no ``chdir``/``creates``/``removes``, the task's ``environment`` does
not apply, and in check mode the task is skipped: all as Ansible's ``raw`` does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from corral import StepContext, StepResult
from corral_plugins.shell.outcome import command_outcome

__all__ = ["RAW_SCHEMA", "raw"]

RAW_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["cmd"],
    "properties": {
        "cmd": {
            "type": "string",
            "description": "The command line, run by the connection's shell (`/bin/sh`).",
        },
        "executable": {
            "type": "string",
            "description": "Run `cmd` as `<executable> -c <cmd>` instead (e.g. `/bin/bash`).",
        },
    },
}


def raw(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Run ``cmd`` on the host through a shell, with no module and no Python."""
    if ctx.check_mode:
        return StepResult(skipped=True, msg="raw does not run in check mode")
    cmd = str(args["cmd"])
    executable = args.get("executable")
    command: list[str] | str = [str(executable), "-c", cmd] if executable else cmd
    result = ctx.run_command(command, shown=cmd)
    return command_outcome(ctx, result, {}, strip=False)  # raw keeps output as written
