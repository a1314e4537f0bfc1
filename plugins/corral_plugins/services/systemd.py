"""The ``systemd`` step (``systemd_service``): Ansible's module over ``systemctl``.

One command reads the unit (``systemctl show``, ``is-enabled``, whether an init
script stands in for it); then only what differs is done: mask or unmask, enable or
disable, start, stop, restart or reload. The result carries ``status``, the unit's
``systemctl show`` properties, as Ansible's does. ``daemon_reload`` and
``daemon_reexec`` run first, and never in check mode; like Ansible, they alone do not
report ``changed``.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import Any

from corral import StepContext, StepResult
from corral_plugins.services.host import ServiceError, run, run_script

__all__ = ["ensure_unit", "parse_systemctl_show", "systemd"]


# Reads the unit in one round trip: ``systemctl show``, ``is-enabled`` and its exit
# status, and whether a SysV init script stands in for it (and is linked to start).
_PROBE = """\
u=$1; shift
[ -n "${XDG_RUNTIME_DIR:-}" ] || export XDG_RUNTIME_DIR=/run/user/$(id -u)
command -v "$1" >/dev/null 2>&1 || { echo "__corral_no_systemctl"; exit 0; }
"$@" show -- "$u"; echo "__corral_show_rc=$?"
"$@" is-enabled -- "$u" 2>/dev/null; echo "__corral_enabled_rc=$?"
if [ -x "/etc/init.d/$u" ]; then echo "__corral_initd=1"; fi
for f in /etc/rc?.d/S??"$u"; do [ -e "$f" ] && { echo "__corral_sysv_enabled=1"; break; }; done
exit 0
"""

_ENABLED_STATES = {
    "enabled", "enabled-runtime", "linked", "linked-runtime", "masked", "masked-runtime",
    "static", "indirect", "disabled", "generated", "transient", "alias",
}  # fmt: skip


def systemd(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Bring a systemd unit to the requested state."""
    unit = args.get("name") or args.get("unit") or args.get("service")
    wanted = {k: args.get(k) for k in ("state", "enabled", "masked")}
    reload = bool(args.get("daemon_reload") or args.get("daemon-reload"))
    reexec = bool(args.get("daemon_reexec") or args.get("daemon-reexec"))
    problem = _bad_input(unit, wanted, reload or reexec)
    if problem:
        return StepResult(failed=True, msg=problem)
    systemctl = ["systemctl"]
    if args.get("scope", "system") != "system":
        systemctl.append(f"--{args['scope']}")
    if args.get("no_block"):
        systemctl.append("--no-block")
    if args.get("force"):
        systemctl.append("--force")
    data: dict[str, Any] = {"name": unit, "status": {}}
    try:
        for wanted_flag, verb in ((reload, "daemon-reload"), (reexec, "daemon-reexec")):
            if wanted_flag and not ctx.check_mode:
                _systemctl(ctx, systemctl, verb, None)
        changed = False
        if unit:
            changed = ensure_unit(ctx, systemctl, str(unit), wanted, data, args.get("scope"))
    except ServiceError as exc:
        return StepResult(failed=True, msg=exc.message, data={**data, **exc.data})
    return StepResult(changed=changed, data=data)


def _bad_input(unit: Any, wanted: Mapping[str, Any], daemon: bool) -> str:
    if all(v is None for v in wanted.values()) and not daemon:
        return (
            "one of the following is required: state, enabled, masked, daemon_reload, daemon_reexec"
        )
    for key, value in wanted.items():
        if value is not None and not unit:
            return f"missing parameter(s) required by '{key}': name"
    for glob in ("*", "?", "["):
        if unit and glob in str(unit):
            return (
                "This module does not currently support using glob patterns, "
                f"found '{glob}' in service name: {unit}"
            )
    return ""


def ensure_unit(
    ctx: StepContext,
    systemctl: list[str],
    unit: str,
    wanted: Mapping[str, Any],
    data: dict[str, Any],
    scope: str | None = "system",
) -> bool:
    """Mask, enable and start or stop ``unit`` as ``wanted`` asks; fills ``data``.

    Returns whether anything changed (or would, in check mode).
    """
    probe = _probe(ctx, systemctl, unit)
    status = probe["status"]
    data["status"] = status
    load_state = status.get("LoadState")
    is_systemd = probe["enabled_out"] in _ENABLED_STATES or (
        load_state is not None and load_state != "not-found"
    )
    if is_systemd and load_state != "masked" and "LoadError" in status:
        raise ServiceError(f"Error loading unit file '{unit}': {status['LoadError']}")
    found = is_systemd or probe["initd"]
    if probe["initd"] and not is_systemd:
        data.setdefault("warnings", []).append(
            f"The service ({unit}) is actually an init script but the system is managed by systemd"
        )
    changed = False
    if wanted.get("masked") is not None:
        masked = probe["enabled_out"] == "masked"
        if masked != wanted["masked"]:
            changed = True
            action = "mask" if wanted["masked"] else "unmask"
            if not ctx.check_mode:
                result = run(ctx, [*systemctl, action, "--", unit])
                if result.rc != 0:
                    _require(found, unit)
                    raise ServiceError(
                        f"Failed to {action} the service ({unit}): {result.stderr.strip()}"
                    )
    if wanted.get("enabled") is not None:
        _require(found, unit)
        enabled = _is_enabled(probe, scope)
        data["enabled"] = enabled
        if enabled != wanted["enabled"]:
            changed = True
            action = "enable" if wanted["enabled"] else "disable"
            if not ctx.check_mode:
                _systemctl(ctx, systemctl, action, unit, f"Unable to {action} service {unit}")
            data["enabled"] = not enabled
    if wanted.get("state") is not None:
        _require(found, unit)
        state = wanted["state"]
        changed = _ensure_state(ctx, systemctl, unit, state, data, probe["error"]) or changed
    return changed


def _ensure_state(
    ctx: StepContext,
    systemctl: list[str],
    unit: str,
    state: str,
    data: dict[str, Any],
    error: str,
) -> bool:
    status = data["status"]
    active = status.get("ActiveState")
    if active is None:
        # Ansible's message; systemctl's own (``System has not been booted with systemd``)
        # says why.
        raise ServiceError(
            "Service is in unknown state" + (f": {error}" if error else ""), status=status
        )
    running = active in ("active", "activating")
    data["state"] = state
    action = None
    if state == "started":
        action = None if running else "start"
    elif state == "stopped":
        action = "stop" if running or active == "deactivating" else None
    else:
        action = state[:-2] if running else "start"  # restarted -> restart
        data["state"] = "started"
    if action is None:
        return False
    if not ctx.check_mode:
        _systemctl(ctx, systemctl, action, unit, f"Unable to {action} service {unit}")
    return True


def _require(found: bool, unit: str) -> None:
    if not found:
        raise ServiceError(f"Could not find the requested service {unit}: host")


def _is_enabled(probe: Mapping[str, Any], scope: str | None) -> bool:
    """Ansible's reading of ``systemctl is-enabled`` (with SysV links as a fallback)."""
    out, rc = probe["enabled_out"], probe["enabled_rc"]
    if rc == 0:
        return out not in ("enabled-runtime", "indirect", "alias")
    if rc == 1 and (scope or "system") == "system" and probe["initd"]:
        return not out.endswith("disabled") and bool(probe["sysv_enabled"])
    return False


def _systemctl(
    ctx: StepContext, systemctl: list[str], verb: str, unit: str | None, failure: str = ""
) -> None:
    argv = [*systemctl, verb, *(["--", unit] if unit else [])]
    result = run(ctx, argv)
    if result.rc != 0:
        detail = (result.stdout + result.stderr).strip()
        raise ServiceError(f"{failure or f'failure {result.rc} during {verb}'}: {detail}")


def _probe(ctx: StepContext, systemctl: list[str], unit: str) -> dict[str, Any]:
    result = run_script(ctx, _PROBE, unit, *systemctl)
    if result.rc != 0 or "__corral_no_systemctl" in result.stdout:
        detail = result.stderr.strip()
        raise ServiceError(
            f'Failed to find required executable "systemctl"{": " + detail if detail else ""}'
            f" (run: {shlex.join(systemctl)})"
        )
    show: list[str] = []
    enabled: list[str] = []
    probe: dict[str, Any] = {"initd": False, "sysv_enabled": False, "enabled_rc": 1}
    show_rc = 1
    target = show
    for line in result.stdout.splitlines():
        if line.startswith("__corral_show_rc="):
            show_rc = int(line.partition("=")[2])
            target = enabled
        elif line.startswith("__corral_enabled_rc="):
            probe["enabled_rc"] = int(line.partition("=")[2])
            target = []
        elif line == "__corral_initd=1":
            probe["initd"] = True
        elif line == "__corral_sysv_enabled=1":
            probe["sysv_enabled"] = True
        else:
            target.append(line)
    ignored = not any("=" in line for line in show) and "ignoring" in result.stdout
    probe["status"] = parse_systemctl_show(show) if show_rc == 0 and not ignored else {}
    errors = result.stderr.strip().splitlines()
    probe["error"] = errors[-1] if errors and not probe["status"] else ""
    probe["enabled_out"] = enabled[-1].strip() if enabled else ""
    return probe


def parse_systemctl_show(lines: list[str]) -> dict[str, str]:
    """``systemctl show``'s ``Key=Value`` lines as a dict, as Ansible's module parses them.

    Only ``Exec*`` values may span lines (``{ ... }``); a ``Description`` that starts
    with ``{`` is one line.
    """
    parsed: dict[str, str] = {}
    multival: list[str] = []
    key: str | None = None
    for line in lines:
        if key is None:
            if "=" in line:
                k, value = line.split("=", 1)
                multiline = value.lstrip().startswith("{") and not value.rstrip().endswith("}")
                if k.startswith("Exec") and multiline:
                    key = k
                    multival.append(value)
                    continue
                parsed[k] = value.strip()
        else:
            multival.append(line)
            if line.rstrip().endswith("}"):
                parsed[key] = "\n".join(multival).strip()
                multival = []
                key = None
    return parsed
