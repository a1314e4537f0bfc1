"""The ``modprobe`` step: ``community.general.modprobe``, a kernel module loaded or not.

``/proc/modules`` (and ``modules.builtin`` for modules built into the kernel) say whether
it is loaded; ``modprobe NAME PARAMS`` loads it and ``modprobe -r NAME`` unloads it.
``persistent`` writes (or removes) ``/etc/modules-load.d/NAME.conf`` so it is loaded at
boot, and ``/etc/modprobe.d/NAME.conf`` with its ``options`` when there are ``params``.

A container shares its host's kernel and may not load or unload modules: there the
step can read the state and manage the persistent files, nothing else.
"""

from __future__ import annotations

import posixpath
import shlex
from collections.abc import Mapping
from typing import Any

from corral import StepContext, StepFailed, StepResult
from corral_plugins.system.hostio import read_text, run, run_ok, write_text

__all__ = ["modprobe"]


def _loaded(ctx: StepContext, name: str) -> bool:
    wanted = {name, name.replace("-", "_")}
    modules = read_text(ctx, "/proc/modules") or ""
    if any(line.split(" ", 1)[0] in wanted for line in modules.splitlines()):
        return True
    release = run_ok(ctx, ["uname", "-r"]).strip()
    builtin = read_text(ctx, f"/lib/modules/{release}/modules.builtin") or ""
    return any(
        posixpath.basename(line).removesuffix(".ko").replace("-", "_") in wanted
        for line in builtin.splitlines()
    )


def modprobe(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Load or unload a kernel module; keep its boot-time files."""
    name, params = args["name"], args.get("params", "")
    present = args.get("state", "present") == "present"
    data: dict[str, Any] = {"name": name, "params": params, "state": args.get("state", "present")}
    try:
        changed = _loaded(ctx, name) != present
        if changed and not ctx.check_mode:
            argv = ["modprobe", name, *shlex.split(params)] if present else ["modprobe", "-r", name]
            result = run(ctx, argv)
            if result.rc != 0 or result.timed_out:
                detail = result.stderr.strip() or f"rc={result.rc}"
                return StepResult(failed=True, msg=f"modprobe failed: {detail}", data=data)
        changed = _persist(ctx, args) or changed
    except StepFailed as exc:
        return StepResult(failed=True, msg=exc.message, data=data)
    return StepResult(changed=changed, data=data)


def _persist(ctx: StepContext, args: Mapping[str, Any]) -> bool:
    """Bring the boot-time files in line with ``persistent``; whether any changed."""
    persistent = args.get("persistent", "disabled")
    if persistent == "disabled":
        return False
    name, params = args["name"], args.get("params", "")
    files = {
        f"/etc/modules-load.d/{name}.conf": f"{name}\n",
        f"/etc/modprobe.d/{name}.conf": f"options {name} {params}\n" if params else None,
    }
    changed = False
    for path, text in files.items():
        current = read_text(ctx, path)
        wanted = text if persistent == "present" else None
        if current == wanted or (wanted is None and current is None):
            continue
        changed = True
        if ctx.check_mode:
            continue
        if wanted is None:
            run_ok(ctx, ["rm", "-f", "--", path])
        else:
            run_ok(ctx, ["mkdir", "-p", "--", posixpath.dirname(path)])
            write_text(ctx, path, wanted)
    return changed
