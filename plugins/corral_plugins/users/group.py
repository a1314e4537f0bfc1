"""The ``group`` step: Ansible's ``group`` module on Linux, through groupadd/groupmod/groupdel."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from corral import StepContext, StepFailed, StepResult
from corral_plugins.users.accounts import check_name, read_accounts, run

__all__ = ["group"]


def group(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Create, change the gid of, or remove one group."""
    name = str(args["name"])
    check_name(name, "group")
    if args.get("local"):
        raise StepFailed("local: the lgroupadd tools are not supported; leave local unset")
    if args.get("non_unique") and args.get("gid") is None:
        raise StepFailed("gid: required when non_unique is true")
    state = args.get("state", "present")
    data: dict[str, Any] = {"name": name, "state": state}
    existing = next((g for g in read_accounts(ctx, None).groups if g.name == name), None)
    gid = args.get("gid")
    argv: list[str] = []
    if state == "absent":
        if existing is not None:
            argv = ["groupdel", *(["-f"] if args.get("force") else []), name]
    elif existing is None:
        argv = ["groupadd", *_options(args), name]
    elif gid is not None and existing.gid != int(gid):
        argv = ["groupmod", "-g", str(gid), *(["-o"] if args.get("non_unique") else []), name]
    if argv and ctx.check_mode:
        return StepResult(changed=True, data=data | _facts(existing, args))
    if argv:
        result = run(ctx, argv)
        if result.rc != 0:
            msg = result.stderr.strip() or f"{argv[0]} exited {result.rc}"
            return StepResult(failed=True, msg=msg, rc=result.rc, data={"name": name})
        data |= {k: v for k, v in (("stdout", result.stdout), ("stderr", result.stderr)) if v}
        existing = next((g for g in read_accounts(ctx, None).groups if g.name == name), None)
    return StepResult(changed=bool(argv), data=data | _facts(existing, args))


def _options(args: Mapping[str, Any]) -> list[str]:
    """groupadd's options for ``args``."""
    argv: list[str] = []
    if args.get("gid") is not None:
        argv += ["-g", str(args["gid"]), *(["-o"] if args.get("non_unique") else [])]
    if args.get("system"):
        argv.append("-r")
    for key, setting in (("gid_min", "GID_MIN"), ("gid_max", "GID_MAX")):
        if args.get(key) is not None:
            argv += ["-K", f"{setting}={args[key]}"]
    return argv


def _facts(existing: Any, args: Mapping[str, Any]) -> dict[str, Any]:
    if existing is None:
        return {}
    return {"gid": existing.gid, "system": bool(args.get("system"))}
