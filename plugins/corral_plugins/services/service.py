"""The ``service`` step: start, stop, restart, reload and enable a service, whatever runs it.

With ``use: auto`` the host's ``ansible_service_mgr`` fact picks the backend (it is
gathered when absent, as Ansible's ``service`` action does): under systemd the step
is the ``systemd`` step (same result, ``status`` included); otherwise it looks on the
host as Ansible's ``service`` module does: systemd if it is running after all, else
OpenRC's ``rc-service``, else the SysV init script (through ``service``).
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import Any

from corral import StepContext, StepResult
from corral_plugins.services.host import ServiceError, detached, service_manager
from corral_plugins.services.openrc import (
    openrc_control,
    openrc_enabled,
    openrc_exists,
    openrc_status,
)
from corral_plugins.services.systemd import ensure_unit
from corral_plugins.services.sysv import (
    Tools,
    ensure_enabled,
    is_running,
    probe,
    ps_running,
    sysv_control,
)

__all__ = ["service", "with_sysv"]


_SYSTEMD_UNUSED = ("pattern", "runlevel", "sleep", "arguments", "args")


def service(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Bring a service to the requested state with the host's service manager."""
    name = str(args["name"])
    if args.get("state") is None and args.get("enabled") is None:
        return StepResult(failed=True, msg="one of the following is required: state, enabled")
    data: dict[str, Any] = {"name": name}
    try:
        use = str(args.get("use") or "auto").lower()
        manager = service_manager(ctx) if use == "auto" else use
        tools = None
        if manager != "systemd":
            tools = probe(ctx, name)
            manager = tools.manager
        if manager == "systemd" or tools is None:
            changed = _with_systemd(ctx, name, args, data)
        elif manager == "openrc":
            changed = _with_openrc(ctx, tools, args, data)
        else:
            changed = with_sysv(ctx, tools, args, data)
    except ServiceError as exc:
        return StepResult(failed=True, msg=exc.message, data={**data, **exc.data})
    return StepResult(changed=changed, data=data)


def _with_systemd(
    ctx: StepContext, name: str, args: Mapping[str, Any], data: dict[str, Any]
) -> bool:
    ignored = [key for key in _SYSTEMD_UNUSED if args.get(key)]
    if ignored:
        data["warnings"] = [f'Ignoring "{key}" as it is not used in "systemd"' for key in ignored]
    data["status"] = {}
    wanted = {"state": args.get("state"), "enabled": args.get("enabled")}
    return ensure_unit(ctx, ["systemctl"], name, wanted, data)


def _arguments(args: Mapping[str, Any]) -> list[str]:
    return shlex.split(str(args.get("arguments") or args.get("args") or ""))


def with_sysv(
    ctx: StepContext, tools: Tools, args: Mapping[str, Any], data: dict[str, Any]
) -> bool:
    """Bring an init script's service to ``args``' state and boot setting; whether it changed."""
    if not tools.initscript:
        raise ServiceError(f"Could not find the requested service {tools.name}: host")
    changed = False
    if args.get("enabled") is not None:
        changed = ensure_enabled(ctx, tools, bool(args["enabled"]))
        data["enabled"] = bool(args["enabled"])
    state = args.get("state")
    if state is None:
        return changed
    arguments = _arguments(args)
    pattern = args.get("pattern")
    running = ps_running(ctx, pattern) if pattern else is_running(ctx, tools, arguments)
    action = _action(state, running)
    data["state"] = "stopped" if state == "stopped" else "started"
    if action is None:
        return changed
    if not ctx.check_mode:
        if action == "restart":
            _restart(ctx, tools, arguments, int(args.get("sleep") or 0))
        else:
            _control(ctx, sysv_control(tools, action, arguments))
    return True


def _with_openrc(
    ctx: StepContext, tools: Tools, args: Mapping[str, Any], data: dict[str, Any]
) -> bool:
    if not openrc_exists(ctx, tools):
        raise ServiceError(f"Could not find the requested service {tools.name}: host")
    changed = False
    if args.get("enabled") is not None:
        runlevel = str(args.get("runlevel") or "default")
        changed = openrc_enabled(ctx, tools, bool(args["enabled"]), runlevel)
        data["enabled"] = bool(args["enabled"])
    state = args.get("state")
    if state is None:
        return changed
    arguments = _arguments(args)
    pattern = args.get("pattern")
    running, crashed = (ps_running(ctx, pattern), False) if pattern else openrc_status(ctx, tools)
    action = _action(state, running)
    data["state"] = "stopped" if state == "stopped" else "started"
    if action is None:
        return changed
    if not ctx.check_mode:
        if action == "start" and crashed:
            detached(ctx, openrc_control(tools, "zap", []))
        _control(ctx, openrc_control(tools, action, arguments))
    return True


def _action(state: str, running: bool | None) -> str | None:
    """What to run to reach ``state`` (Ansible's ``service`` decision), or None."""
    if running is None:
        raise ServiceError("failed determining service state, possible typo of service name?")
    if state == "started":
        return None if running else "start"
    if state == "stopped":
        return "stop" if running else None
    if state == "reloaded":
        return "reload" if running else "start"
    return "restart"


def _restart(ctx: StepContext, tools: Tools, arguments: list[str], sleep: int) -> None:
    """Stop, wait ``sleep`` seconds, start: Ansible's restart of an init script."""
    stop = detached(ctx, sysv_control(tools, "stop", arguments))
    if sleep:
        ctx.cancelled.wait(sleep)
    start = detached(ctx, sysv_control(tools, "start", arguments))
    if start.rc != 0:  # a failed stop is fine when start works (it was not running)
        detail = (stop.stderr + start.stderr) or (stop.stdout + start.stdout)
        raise ServiceError(detail.strip() or f"restart failed: rc={stop.rc + start.rc}")


def _control(ctx: StepContext, argv: list[str]) -> None:
    result = detached(ctx, argv)
    if result.rc != 0:
        raise ServiceError((result.stderr or result.stdout).strip() or f"rc={result.rc}")
