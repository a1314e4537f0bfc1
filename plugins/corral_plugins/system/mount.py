"""The ``mount`` step: ``ansible.posix.mount``, an ``/etc/fstab`` entry and the mount itself.

States as Ansible's: ``present``/``absent_from_fstab`` touch only the file, ``absent``
also unmounts and removes the mount point, ``unmounted`` only unmounts, ``mounted`` writes
the entry and mounts (or remounts after a change), ``ephemeral`` mounts with the arguments
alone (fstab untouched), ``remounted`` remounts. Whether a path is mounted is read from
``/proc/self/mountinfo`` on the host. A failed mount puts the file back and removes the
directories made for it, then fails with mount(8)'s words.
"""

from __future__ import annotations

import posixpath
import shlex
from collections.abc import Mapping
from typing import Any

from corral import StepContext, StepFailed, StepResult
from corral_plugins.system.fstab import remove_entry, set_entry
from corral_plugins.system.hostio import read_text, run, write_in_place

__all__ = ["mount"]

_NEEDS_SOURCE = ("mounted", "present", "ephemeral")


def mount(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    try:
        return _mount(ctx, args)
    except StepFailed as exc:
        return StepResult(failed=True, msg=exc.message)


def _settings(args: Mapping[str, Any]) -> dict[str, Any]:
    state = args["state"]
    missing = [k for k in ("src", "fstype") if state in _NEEDS_SOURCE and not args.get(k)]
    if missing:
        raise StepFailed(f"state is {state} but all of the following are missing: "
                         + ", ".join(missing))  # fmt: skip
    name = str(args.get("path") or args.get("name"))
    opts = str(args.get("opts") or "defaults")
    boot = args.get("boot", True)
    if not boot:
        opts += ",noauto"
    return {
        "name": name,
        "src": args.get("src"),
        "fstype": args.get("fstype"),
        "opts": opts,
        "dump": str(args.get("dump", "0")),
        "passno": str(args.get("passno", "0")),
        "fstab": str(args.get("fstab") or "/etc/fstab"),
        "boot": "yes" if boot else "no",
        "backup_file": "",
    }


def _sources(ctx: StepContext) -> dict[str, str]:
    """Mount point -> source, from the host's ``/proc/self/mountinfo``."""
    table = run(ctx, ["cat", "/proc/self/mountinfo"]).stdout
    fields = [line.split() for line in table.splitlines()]
    return {f[4]: f[-2] for f in fields if len(f) > 6}


def _mounted(ctx: StepContext, path: str) -> bool:
    points = _sources(ctx)
    return (path.rstrip("/") or "/") in points


def _command(ctx: StepContext, argv: list[str]) -> str | None:
    """None when ``argv`` worked, else what it said."""
    result = run(ctx, argv)
    if result.rc == 0 and not result.timed_out:
        return None
    return (result.stdout + result.stderr).strip() or f"rc={result.rc}"


def _mount_argv(args: Mapping[str, Any], s: Mapping[str, Any], remount: bool) -> list[str]:
    argv = ["mount"]
    if remount:
        extra = s["opts"] != "defaults" and args["state"] == "remounted"
        argv += ["-o", f"remount,{s['opts']}" if extra else "remount"]
    if args["state"] == "ephemeral":
        argv += ["-t", s["fstype"], *(["-o", s["opts"]] if s["opts"] != "defaults" else [])]
        argv.append(s["src"])
    elif s["fstab"] != "/etc/fstab":
        argv += ["-T", s["fstab"]]
    return [*argv, s["name"]]


def _remount(ctx: StepContext, args: Mapping[str, Any], s: Mapping[str, Any]) -> str | None:
    """Remount; when that fails, unmount and mount again (Ansible's fallback)."""
    if _command(ctx, _mount_argv(args, s, True)) is None:
        return None
    if args["state"] == "remounted" and s["opts"] != "defaults":
        raise StepFailed(
            "Options were specified with remounted, but the remount command failed. "
            "Failing in order to prevent an unexpected mount result."
        )
    return _command(ctx, ["umount", s["name"]]) or _command(ctx, _mount_argv(args, s, False))


def _write(ctx: StepContext, s: dict[str, Any], text: str, backup: bool) -> None:
    if backup:
        script = 'b="$1.$$.$(date +%Y-%m-%d@%H:%M:%S)~"; cp -p -- "$1" "$b" && echo "$b"'
        result = run(ctx, ["sh", "-c", script, "sh", s["fstab"]])
        s["backup_file"] = result.stdout.strip()
    write_in_place(ctx, s["fstab"], text)


def _mount(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    s = _settings(args)
    state, name = args["state"], s["name"]
    check, backup = ctx.check_mode, bool(args.get("backup"))
    before = ""
    if state != "ephemeral":
        found = read_text(ctx, s["fstab"])
        if found is None and not check:
            directory = shlex.quote(posixpath.dirname(s["fstab"]) or ".")
            quoted = shlex.quote(s["fstab"])
            run(ctx, f"mkdir -p {directory} && touch {quoted}")
        before = found or ""
    wanted = {k: str(s[k]) for k in ("src", "name", "fstype", "opts", "dump", "passno")}
    changed = False
    if state in ("absent", "absent_from_fstab"):
        changed = _absent(ctx, args, s, before)
    elif state == "unmounted":
        changed = _mounted(ctx, name)
        if changed and not check and (err := _command(ctx, ["umount", name])):
            raise StepFailed(f"Error unmounting {name}: {err}")
    elif state == "present":
        after, changed = set_entry(before, wanted)
        if changed and not check:
            _write(ctx, s, after, backup)
    elif state == "remounted":
        changed = True
        if not check and (err := _remount(ctx, args, s)):
            raise StepFailed(f"Error remounting {name}: {err}")
    else:
        changed = _mount_live(ctx, args, s, before, wanted)
    return StepResult(changed=changed, data={"changed": changed, **s})


def _absent(ctx: StepContext, args: Mapping[str, Any], s: dict[str, Any], before: str) -> bool:
    """Remove the entry; for ``absent`` also unmount and remove the mount point."""
    name = s["name"]
    after, changed = remove_entry(before, name, args.get("src"))
    if changed and not ctx.check_mode:
        _write(ctx, s, after, bool(args.get("backup")))
        if args["state"] == "absent":
            if _mounted(ctx, name) and (err := _command(ctx, ["umount", name])):
                raise StepFailed(f"Error unmounting {name}: {err}")
            gone = run(ctx, ["sh", "-c", '[ ! -e "$1" ] || rmdir -- "$1"', "sh", name])
            if gone.rc != 0:
                raise StepFailed(f"Error rmdir {name}: {gone.stderr.strip()}")
    return changed


def _mount_live(
    ctx: StepContext,
    args: Mapping[str, Any],
    s: dict[str, Any],
    before: str,
    wanted: Mapping[str, str],
) -> bool:
    """``mounted`` and ``ephemeral``: write the entry (not ephemeral), then (re)mount."""
    state, name, check = args["state"], s["name"], ctx.check_mode
    made = ""
    if not check:
        script = 'p="$1"; while [ ! -e "$p" ]; do top="$p"; p=$(dirname "$p"); done; '
        script += 'mkdir -p -- "$1" && echo "${top:-}"'
        made = run(ctx, ["sh", "-c", script, "sh", name]).stdout.strip()
    changed = False
    if state != "ephemeral":
        after, changed = set_entry(before, wanted)
        if changed and not check:
            _write(ctx, s, after, bool(args.get("backup")))
    err = None
    if _mounted(ctx, name):
        if state == "ephemeral":
            if _sources(ctx).get(name.rstrip("/") or "/") != s["src"]:
                raise StepFailed(
                    "Ephemeral mount point is already mounted with a different source than "
                    "the specified one. Failing in order to prevent an unwanted unmount or "
                    "override operation."
                )
            changed = True
        if changed and not check:
            err = _remount(ctx, args, s)
    else:
        changed = True
        if not check:
            err = _command(ctx, _mount_argv(args, s, False))
    if err:
        if state != "ephemeral":
            write_in_place(ctx, s["fstab"], before)  # a broken entry could stop the boot
        if made:
            run(ctx, ["rm", "-d", "-r", "--", made])
        raise StepFailed(f"Error mounting {name}: {err}")
    return changed
