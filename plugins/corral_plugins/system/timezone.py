"""The ``timezone`` step: ``community.general.timezone``, the host's time zone.

Where systemd runs, ``timedatectl set-timezone``; elsewhere (a container, an old init)
``/etc/localtime`` becomes a symlink to the zone's file in ``/usr/share/zoneinfo`` and, on
Debian, ``/etc/timezone`` holds its name, as ``dpkg-reconfigure tzdata`` leaves them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from corral import StepContext, StepFailed, StepResult
from corral_plugins.system.hostio import run_ok, write_text

__all__ = ["timezone"]

ZONEINFO = "/usr/share/zoneinfo"


# What the step needs to know, in one command: whether the zone exists, whether systemd
# runs (then timedatectl answers), else /etc/timezone and where /etc/localtime points.
_PROBE = """if [ ! -e "$2/$1" ] || [ -d "$2/$1" ]; then echo missing; exit 0; fi
if [ -d /run/systemd/system ] && timedatectl status >/dev/null 2>&1; then
  echo systemd
  exec timedatectl show --property=Timezone --value
fi
echo files
cat /etc/timezone 2>/dev/null
echo @@
readlink /etc/localtime
exit 0
"""


def _probe(ctx: StepContext, name: str) -> tuple[bool, str, str] | None:
    """(systemd, the current zone, /etc/localtime's target); None when ``name`` is no zone."""
    argv = ["/bin/sh", "-c", _PROBE, "timezone", name, ZONEINFO]
    kind, _, rest = run_ok(ctx, argv, failure="cannot read the time zone").partition("\n")
    if kind == "missing":
        return None
    if kind == "systemd":
        return True, rest.strip(), ""
    named, _, link = rest.partition("@@\n")
    link = link.strip()
    match = re.search(r"zoneinfo/(.+)$", link)
    return False, named.strip() or (match.group(1) if match else ""), link


def timezone(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Set the host's time zone (and the hardware clock's mode, on systemd hosts)."""
    name = args["name"]
    try:
        found = None if ".." in name.split("/") else _probe(ctx, name)
        if found is None:
            return StepResult(failed=True, msg=f'name: given timezone "{name}" is not available')
        systemd, current, link = found
        before = {"name": current}
        after = {"name": name}
        changed = current != name
        if not systemd:
            changed = changed or link != f"{ZONEINFO}/{name}"
        hwclock = _hwclock(ctx, args.get("hwclock"), systemd)
        if hwclock is not None:
            before["hwclock"], after["hwclock"] = hwclock
            changed = changed or hwclock[0] != hwclock[1]
        if changed and not ctx.check_mode:
            _set(ctx, name, systemd, args.get("hwclock"))
    except StepFailed as exc:
        return StepResult(failed=True, msg=exc.message)
    return StepResult(changed=changed, diff={"before": before, "after": after})


def _hwclock(ctx: StepContext, wanted: str | None, systemd: bool) -> tuple[str, str] | None:
    if wanted is None:
        return None
    if not systemd:
        raise StepFailed("hwclock: only supported where systemd runs (timedatectl)")
    local = run_ok(ctx, ["timedatectl", "show", "--property=LocalRTC", "--value"]).strip()
    return ("local" if local == "yes" else "UTC", "local" if wanted == "local" else "UTC")


def _set(ctx: StepContext, name: str, systemd: bool, hwclock: str | None) -> None:
    if systemd:
        run_ok(ctx, ["timedatectl", "set-timezone", name])
        if hwclock is not None:
            run_ok(ctx, ["timedatectl", "set-local-rtc", "1" if hwclock == "local" else "0"])
        return
    run_ok(ctx, ["ln", "-sfn", f"{ZONEINFO}/{name}", "/etc/localtime"])
    debian = ctx.conn.stat("/etc/debian_version", become=ctx.become, timeout=ctx.timeout)
    if debian is not None:
        write_text(ctx, "/etc/timezone", f"{name}\n")
