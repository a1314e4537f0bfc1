"""The ``sysvinit`` step: a service through its SysV init script, as Ansible's ``sysvinit``.

What the ``service`` step does on a host without systemd (the init script's ``status``,
``start``/``stop``/``restart``/``reload`` run detached from the connection, boot links
with ``update-rc.d`` or ``chkconfig``), whatever the host's service manager, plus
``runlevels``: enabling or disabling the service in those runlevels only, judged by its
``/etc/rcN.d/S??NAME`` links.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from corral import StepContext, StepResult
from corral_plugins.services.host import ServiceError, run
from corral_plugins.services.service import with_sysv
from corral_plugins.services.sysv import Tools, probe

__all__ = ["sysvinit"]

_LINKS = 'for f in /etc/rc"$1".d/S??"$2"; do [ -e "$f" ] && exit 0; done; exit 1'


def sysvinit(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Bring an init script's service to the requested state and boot setting."""
    name = str(args.get("name") or args["service"])
    if args.get("state") is None and args.get("enabled") is None:
        return StepResult(failed=True, msg="one of the following is required: state, enabled")
    data: dict[str, Any] = {"name": name}
    runlevels = [str(level) for level in args.get("runlevels") or ()]
    try:
        tools = probe(ctx, name)
        if not tools.initscript:
            raise ServiceError(f"Could not find the requested service {name}: host")
        changed = False
        rest = {**args, "name": name, "sleep": args.get("sleep", 1)}  # Ansible's 1 s
        if runlevels and args.get("enabled") is not None:
            enable = bool(rest.pop("enabled"))
            changed = _in_runlevels(ctx, tools, runlevels, enable)
            data.update(enabled=enable, runlevels=runlevels)
        changed = with_sysv(ctx, tools, rest, data) or changed
    except ServiceError as exc:
        return StepResult(failed=True, msg=exc.message, data={**data, **exc.data})
    return StepResult(changed=changed, data=data)


def _in_runlevels(ctx: StepContext, tools: Tools, levels: Sequence[str], enable: bool) -> bool:
    """Enable or disable the service in ``levels``; whether any of them changed."""
    linked = [run(ctx, ["sh", "-c", _LINKS, "sh", level, tools.name]).rc == 0 for level in levels]
    if all(found == enable for found in linked):
        return False
    if ctx.check_mode:
        return True
    if "update-rc.d" in tools.bins:
        argv = [tools.bins["update-rc.d"], tools.name, "enable" if enable else "disable"]
        argv += levels
    elif "chkconfig" in tools.bins:
        argv = [tools.bins["chkconfig"], "--level", "".join(levels), tools.name]
        argv.append("on" if enable else "off")
    else:
        raise ServiceError(f"cannot detect command to enable service {tools.name}")
    result = run(ctx, argv)
    if "illegal runlevel specified" in result.stderr:
        raise ServiceError(
            f"Illegal runlevel specified for enable operation on service {tools.name}"
        )
    if result.rc != 0:
        raise ServiceError((result.stderr or result.stdout).strip() or f"rc={result.rc}")
    return True
