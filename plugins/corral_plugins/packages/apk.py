"""The ``apk`` step (community.general.apk): packages on Alpine Linux.

Installed names come from ``apk info -e``; missing ones go to one ``apk add``
(apk resolves every name before changing anything); ``latest`` is one
``apk add --upgrade``; check mode uses ``--simulate``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from corral import StepContext, StepResult
from corral_plugins.packages.common import host_run, names_of

__all__ = ["apk"]


_CHANGE = re.compile(r"^\(\d+/\d+\) (Installing|Upgrading|Downgrading|Purging|Replacing)", re.M)


def apk(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:  # noqa: PLR0911 - one per case
    """Install, upgrade or remove Alpine packages."""
    if host_run(ctx, ["/bin/sh", "-c", "command -v apk"]).rc != 0:
        return StepResult(failed=True, msg="apk: no apk command on the host")
    names = names_of(args.get("name"))
    state = str(args.get("state", "present"))
    flags = [f"--repository={repo}" for repo in args.get("repository") or []]
    if args.get("no_cache"):
        flags.append("--no-cache")
    if ctx.check_mode:
        flags.append("--simulate")
    updated = False
    if args.get("update_cache") and not ctx.check_mode:
        update = host_run(ctx, ["apk", "update", *flags])
        if update.rc != 0:
            return StepResult(
                failed=True, msg="failed to update repositories", stderr=update.stderr
            )
        updated = True
    if args.get("upgrade"):
        extra = ["--available"] if args.get("available") else []
        return _run(ctx, ["apk", "upgrade", *flags, *extra], "upgrade")
    if not names:
        return StepResult(changed=updated, msg="updated repository indexes" if updated else "")
    bare = [re.split(r"[<>=~]", name, maxsplit=1)[0] for name in names]
    found = host_run(ctx, ["apk", "info", "-e", "--", *bare])
    installed = set(found.stdout.split())
    if state in ("absent", "removed"):
        present = [name for name in bare if name in installed]
        if not present:
            return StepResult(changed=False, msg="package(s) already removed")
        return _run(ctx, ["apk", "del", *flags, *present], "remove")
    if state == "latest":
        return _run(ctx, ["apk", "add", "--upgrade", *flags, *names], "install")
    missing = [name for name, base in zip(names, bare, strict=True) if base not in installed]
    if not missing:
        return StepResult(changed=False, msg="package(s) already installed")
    return _run(ctx, ["apk", "add", *flags, *missing], "install")


def _run(ctx: StepContext, argv: list[str], what: str) -> StepResult:
    result = host_run(ctx, argv)
    packages = [m.group(0) for m in _CHANGE.finditer(result.stdout)]
    if result.rc != 0 or result.timed_out:
        missing = re.findall(r"^\s+(\S+) \(no such package\)", result.stderr, re.M)
        msg = (
            f"failed to {what} packages: no such package: {', '.join(missing)}"
            if missing
            else f"failed to {what} packages: {result.stderr.strip() or result.rc}"
        )
        return StepResult(
            failed=True, msg=msg, rc=result.rc, stdout=result.stdout, stderr=result.stderr
        )
    return StepResult(
        changed=bool(packages),
        stdout=result.stdout,
        stderr=result.stderr,
        data={"packages": packages},
    )
