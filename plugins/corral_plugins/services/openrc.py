"""OpenRC's side of the ``service`` step: ``rc-service`` and ``rc-update``, as Ansible does it.

Untested against a real OpenRC host (the test fleet is Debian); the commands and their
readings follow Ansible's ``service`` module.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from corral import StepContext
from corral_plugins.services.host import ServiceError, detached, run
from corral_plugins.services.sysv import Tools

__all__ = ["openrc_control", "openrc_enabled", "openrc_exists", "openrc_status"]


def openrc_exists(ctx: StepContext, tools: Tools) -> bool:
    """Whether OpenRC knows the service (``rc-service --exists``)."""
    return run(ctx, [tools.bins["rc-service"], "--exists", tools.name]).rc == 0


def openrc_status(ctx: StepContext, tools: Tools) -> tuple[bool, bool]:
    """(running, crashed) from ``rc-service NAME status``."""
    result = detached(ctx, [tools.bins["rc-service"], tools.name, "status"])
    return "started" in result.stdout, "crashed" in result.stderr


def openrc_control(tools: Tools, action: str, arguments: Sequence[str]) -> list[str]:
    """The command that runs ``action`` (``start``, ``zap``...) on the service."""
    return [tools.bins["rc-service"], tools.name, action, *arguments]


def openrc_enabled(ctx: StepContext, tools: Tools, enable: bool, runlevel: str) -> bool:
    """Add the service to (or delete it from) ``runlevel``; whether it changed."""
    update = tools.bins.get("rc-update")
    if not update:
        raise ServiceError(
            f"cannot detect command to enable service {tools.name}, typo or init system "
            "potentially unknown"
        )
    shown = run(ctx, [update, "show"])
    present = False
    for line in shown.stdout.splitlines():
        name, _, levels = line.partition("|")
        if name.strip() == tools.name:
            present = runlevel in re.split(r"\s+", levels.strip())
            break
    if present == enable:
        return False
    if not ctx.check_mode:
        action = "add" if enable else "delete"
        result = run(ctx, [update, action, tools.name, runlevel])
        if result.rc != 0:
            detail = (result.stderr or result.stdout).strip()
            raise ServiceError(
                f"Error when trying to {action} {tools.name}: rc={result.rc} {detail}"
            )
    return True
