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
from corral_plugins.system.hostio import read_text, run, run_ok, write_text

__all__ = ["timezone"]

ZONEINFO = "/usr/share/zoneinfo"


def _systemd(ctx: StepContext) -> bool:
    booted = ctx.conn.stat("/run/systemd/system", become=ctx.become, timeout=ctx.timeout)
    return booted is not None and booted.is_dir and run(ctx, ["timedatectl", "status"]).rc == 0


def _current(ctx: StepContext, systemd: bool) -> str:
    if systemd:
        return run_ok(ctx, ["timedatectl", "show", "--property=Timezone", "--value"]).strip()
    named = read_text(ctx, "/etc/timezone")
    if named is not None and named.strip():
        return named.strip()
    link = run(ctx, ["readlink", "/etc/localtime"]).stdout.strip()
    match = re.search(r"zoneinfo/(.+)$", link)
    return match.group(1) if match else ""


def timezone(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Set the host's time zone (and the hardware clock's mode, on systemd hosts)."""
    name = args["name"]
    try:
        zone = ctx.conn.stat(f"{ZONEINFO}/{name}", become=ctx.become, timeout=ctx.timeout)
        if ".." in name.split("/") or zone is None or zone.is_dir:
            return StepResult(failed=True, msg=f'name: given timezone "{name}" is not available')
        systemd = _systemd(ctx)
        before = {"name": _current(ctx, systemd)}
        after = {"name": name}
        changed = before["name"] != name
        if not systemd:
            link = run(ctx, ["readlink", "/etc/localtime"]).stdout.strip()
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
