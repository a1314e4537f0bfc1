"""Step types about paths on the host: ``file`` (ensure a state) and ``stat`` (describe).

``file`` stats the path first and acts only on the difference (``mkdir``,
``chmod``, ``chown``, ``ln``, ``rm`` run as argv lists through the connection);
when nothing differs it says why. In check mode it reports what it would do.
The mode/owner/group helpers it shares with ``copy`` and ``template`` are in
:mod:`corral_plugins.files.attributes`.
"""

from __future__ import annotations

import posixpath
import stat as stat_mod
from collections.abc import Callable, Mapping
from typing import Any

from corral import FileStat, StepContext, StepFailed, StepResult
from corral_plugins.files.attributes import (
    ensure_attributes,
    format_mode,
    make_dirs,
    parse_mode,
    run_or_fail,
)

__all__ = ["file", "stat", "stat_dict"]


def _kind(current: FileStat | None) -> str:
    if current is None:
        return "absent"
    if current.is_link:
        return "link"
    if current.is_dir:
        return "directory"
    return "file"


# -- stat -----------------------------------------------------------------------


def stat(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Describe a path on the host in Ansible's ``stat`` shape."""
    path = args["path"]
    checksum = args.get("get_checksum", True)
    current = ctx.conn.stat(path, checksum=checksum, become=ctx.become, timeout=ctx.timeout)
    if current is None:
        return StepResult(data={"stat": {"exists": False}})
    link_source = None
    if current.is_link:
        link_source, target = _resolve_link(ctx, path, current, checksum)
        if args.get("follow", False):
            if target is None:
                return StepResult(data={"stat": {"exists": False}})
            current = target
    return StepResult(data={"stat": stat_dict(path, current, link_source=link_source)})


def _resolve_link(
    ctx: StepContext, path: str, link: FileStat, checksum: bool
) -> tuple[str, FileStat | None]:
    """The absolute path a symlink chain ends at, and its stat (None when dangling)."""
    current: FileStat | None = link
    for _ in range(40):  # the kernel's own limit on symlink hops
        if current is None or not current.is_link or current.link_target is None:
            break
        path = posixpath.normpath(posixpath.join(posixpath.dirname(path), current.link_target))
        current = ctx.conn.stat(path, checksum=checksum, become=ctx.become, timeout=ctx.timeout)
    return path, current


def stat_dict(path: str, st: FileStat, *, link_source: str | None = None) -> dict[str, Any]:
    """The ``stat`` dict Ansible's stat module returns, from what the connection reports."""
    mode = st.mode
    bits = stat_mod.S_IMODE(mode)
    out: dict[str, Any] = {
        "exists": True,
        "path": path,
        "mode": format_mode(mode),
        "isdir": st.is_dir,
        "isreg": st.is_file,
        "islnk": st.is_link,
        "ischr": stat_mod.S_ISCHR(mode),
        "isblk": stat_mod.S_ISBLK(mode),
        "isfifo": stat_mod.S_ISFIFO(mode),
        "issock": stat_mod.S_ISSOCK(mode),
        "size": st.size,
        "uid": st.uid,
        "gid": st.gid,
        "pw_name": st.owner,
        "gr_name": st.group,
        "mtime": st.mtime,
        "isuid": bool(bits & stat_mod.S_ISUID),
        "isgid": bool(bits & stat_mod.S_ISGID),
    }
    for who, shift in (("usr", 6), ("grp", 3), ("oth", 0)):
        out[f"r{who}"] = bool(bits & (4 << shift))
        out[f"w{who}"] = bool(bits & (2 << shift))
        out[f"x{who}"] = bool(bits & (1 << shift))
    if st.checksum is not None:
        out["checksum"] = st.checksum
    if st.is_link:
        out["lnk_target"] = st.link_target
        out["lnk_source"] = link_source
    return out


# -- file -------------------------------------------------------------------------

_State = Callable[[StepContext, Mapping[str, Any], str, "FileStat | None"], StepResult]


def file(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Ensure a path is a file, directory, link or absent, with the given attributes."""
    path = args.get("path") or args.get("dest") or args["name"]
    current = ctx.conn.stat(path, become=ctx.become, timeout=ctx.timeout)
    state = args.get("state") or _default_state(args, current)
    handlers: dict[str, _State] = {
        "absent": _absent,
        "directory": _directory,
        "file": _file,
        "touch": _touch,
        "link": _link,
        "hard": _hard,
    }
    result = handlers[state](ctx, args, path, current)
    if ctx.diff and not result.failed and result.diff is None:
        result.diff = {
            "before": {"path": path, "state": _kind(current)},
            "after": {"path": path, "state": state},
        }
    return result


def _default_state(args: Mapping[str, Any], current: FileStat | None) -> str:
    """Ansible's default: a directory to recurse into, else what the path already is."""
    if args.get("recurse") or (current is not None and current.is_dir):
        return "directory"
    return "file"


def _absent(
    ctx: StepContext, args: Mapping[str, Any], path: str, current: FileStat | None
) -> StepResult:
    data = {"path": path, "state": "absent"}
    if current is None:
        return StepResult(msg="path is already absent", data=data)
    if ctx.check_mode:
        return StepResult(changed=True, msg=f"would remove {_kind(current)} {path}", data=data)
    run_or_fail(ctx, ["rm", "-rf", "--", path])
    return StepResult(changed=True, msg=f"removed {_kind(current)}", data=data)


def _directory(
    ctx: StepContext, args: Mapping[str, Any], path: str, current: FileStat | None
) -> StepResult:
    if current is not None and current.is_link:
        current = _resolve_link(ctx, path, current, checksum=False)[1]
        if current is None:
            return _fail(path, "is a dangling symlink, cannot make it a directory")
    if current is not None and not current.is_dir:
        return _fail(path, "exists but is not a directory")
    created = current is None
    if created:
        if ctx.check_mode:
            return StepResult(
                changed=True, msg=f"would create directory {path}", data=_data(path, "directory")
            )
        make_dirs(ctx, path)
    changes = ensure_attributes(ctx, args, path)
    if args.get("recurse") and _recurse(ctx, args, path):
        changes.append("attributes of the contents")
    return _finish(
        ctx, path, "directory", created=created, changes=changes, kept="directory exists"
    )


def _file(
    ctx: StepContext, args: Mapping[str, Any], path: str, current: FileStat | None
) -> StepResult:
    if current is None:
        return _fail(path, "is absent, cannot continue", kind="file")
    if current.is_dir:
        return _fail(path, "is directory, cannot continue", kind="file")
    changes = ensure_attributes(ctx, args, path, current)
    return _finish(ctx, path, "file", created=False, changes=changes, kept="file exists")


def _touch(
    ctx: StepContext, args: Mapping[str, Any], path: str, current: FileStat | None
) -> StepResult:
    if ctx.check_mode:
        verb = "create" if current is None else "update the times of"
        return StepResult(changed=True, msg=f"would {verb} {path}", data=_data(path, "file"))
    if current is None:
        ctx.conn.put(
            b"", path, mode=parse_mode(args.get("mode")), become=ctx.become, timeout=ctx.timeout
        )
    else:
        run_or_fail(ctx, ["touch", "--", path])
    changes = ensure_attributes(ctx, args, path)
    # Touching always changes the times, as Ansible reports.
    return _finish(ctx, path, "file", created=True, changes=changes, kept="")


def _link(
    ctx: StepContext, args: Mapping[str, Any], path: str, current: FileStat | None
) -> StepResult:
    src, force = args["src"], args.get("force", False)
    if current is not None and current.is_link and current.link_target == src:
        changes = ensure_attributes(ctx, args, path, current)
        return _finish(
            ctx,
            path,
            "link",
            created=False,
            changes=changes,
            kept=f"link already points to {src}",
            src=src,
        )
    target = posixpath.join(posixpath.dirname(path), src)
    if not force and ctx.conn.stat(target, become=ctx.become, timeout=ctx.timeout) is None:
        return _fail(
            path, f"cannot link to {src}: it does not exist (use force: true to link anyway)"
        )
    if current is not None and not current.is_link and not force:
        return _fail(
            path, f"refusing to convert from {_kind(current)} to symlink (use force: true)"
        )
    if ctx.check_mode:
        return StepResult(
            changed=True, msg=f"would link {path} -> {src}", data=_data(path, "link", src=src)
        )
    if current is not None and current.is_dir:
        removed = ctx.conn.run(["rmdir", "--", path], timeout=ctx.timeout, become=ctx.become)
        if removed.rc != 0:
            return _fail(path, "is a directory that is not empty, cannot replace it with a link")
    run_or_fail(ctx, ["ln", "-sfn", "--", src, path])
    changes = ensure_attributes(ctx, args, path)
    return _finish(ctx, path, "link", created=True, changes=changes, kept="", src=src)


def _hard(
    ctx: StepContext, args: Mapping[str, Any], path: str, current: FileStat | None
) -> StepResult:
    src = posixpath.join(posixpath.dirname(path), args["src"])
    if ctx.conn.stat(src, become=ctx.become, timeout=ctx.timeout) is None:
        return _fail(path, f"cannot hard link to {args['src']}: it does not exist")
    if current is not None:
        same = ctx.conn.run(["test", path, "-ef", src], timeout=ctx.timeout, become=ctx.become)
        if same.rc == 0:
            changes = ensure_attributes(ctx, args, path, current)
            return _finish(
                ctx, path, "hard", created=False, changes=changes, kept="hard link exists", src=src
            )
        if current.is_dir or not args.get("force", False):
            return _fail(
                path,
                f"refusing to replace the {_kind(current)} with a hard link (use force: true)",
            )
    if ctx.check_mode:
        return StepResult(
            changed=True, msg=f"would hard link {path} to {src}", data=_data(path, "hard", src=src)
        )
    run_or_fail(ctx, ["ln", "-f", "--", src, path])
    changes = ensure_attributes(ctx, args, path)
    return _finish(ctx, path, "hard", created=True, changes=changes, kept="", src=src)


def _recurse(ctx: StepContext, args: Mapping[str, Any], path: str) -> bool:
    """Apply mode/owner/group below ``path``; whether anything there differed."""
    tests: list[str] = []
    fixes: list[list[str]] = []
    mode = parse_mode(args.get("mode"))
    if mode is not None:
        tests += ["!", "-perm", f"{mode:04o}"]
        fixes.append(["chmod", "-R", f"{mode:04o}", "--", path])
    for key, flag, tool in (("owner", "-user", "chown"), ("group", "-group", "chgrp")):
        if key in args:
            tests += [*(["-o"] if tests else []), "!", flag, args[key]]
            fixes.append([tool, "-R", args[key], "--", path])
    if not tests:
        return False
    found = ctx.conn.run(
        ["find", path, "!", "-type", "l", "(", *tests, ")", "-print"],
        timeout=ctx.timeout,
        become=ctx.become,
    )
    if found.rc != 0:
        raise StepFailed(f"find failed: {found.stderr.strip()}")
    if not found.stdout.strip():
        return False
    if not ctx.check_mode:
        for argv in fixes:
            run_or_fail(ctx, argv)
    return True


def _finish(
    ctx: StepContext,
    path: str,
    state: str,
    *,
    created: bool,
    changes: list[str],
    kept: str,
    src: str | None = None,
) -> StepResult:
    changed = created or bool(changes)
    msg = "; ".join(changes) if changes else ("" if created else kept)
    data = _data(path, state, src=src)
    final = None if ctx.check_mode else ctx.conn.stat(path, become=ctx.become, timeout=ctx.timeout)
    if final is not None:
        data.update(
            mode=format_mode(final.mode),
            owner=final.owner,
            group=final.group,
            uid=final.uid,
            gid=final.gid,
            size=final.size,
        )
    return StepResult(changed=changed, msg=msg, data=data)


def _data(path: str, state: str, *, src: str | None = None) -> dict[str, Any]:
    return {"path": path, "state": state, **({"src": src} if src is not None else {})}


def _fail(path: str, reason: str, *, kind: str = "path") -> StepResult:
    return StepResult(failed=True, msg=f"{kind} ({path}) {reason}", data={"path": path})
