"""``unarchive``: extract a tar or zip archive into a directory on the host.

The archive is read on the controller (a ``remote_src`` one is fetched from the host
first): its members are listed and checked (an absolute path, ``..`` or a path through a
symlink member is refused, before anything is written), then compared with what ``dest``
holds — type, size and mtime of files, mode — in one ``stat`` command per batch, as
Ansible compares with ``tar --diff``. When something differs, the selected members are
repacked as a plain tar, put on the host and extracted with ``tar -x -p``. The host only
needs ``tar`` (GNU or busybox), whatever the archive's format.
"""

from __future__ import annotations

import posixpath
import secrets
import stat as stat_mod
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from corral import StepContext, StepResult
from corral_plugins.fileops.archives import (
    Member,
    UnsafeMember,
    handler_name,
    read_members,
    repack,
    select,
)
from corral_plugins.fileops.hostfs import Entry, path_info, run_checked, stat_paths
from corral_plugins.files.attributes import parse_mode

__all__ = ["unarchive"]

# "$1" the tar file, "$2" dest: extract, then remove the tar whatever happened.
_EXTRACT = 'tar -x -p -f "$1" -C "$2"; rc=$?; rm -f -- "$1"; exit $rc'


def unarchive(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Extract ``src`` into ``dest`` when what is there differs from the archive."""
    src, dest = str(args["src"]), str(args["dest"])
    data: dict[str, Any] = {"src": src, "dest": dest}
    early = _precheck(ctx, args, data)
    if early is not None:
        return early
    if args.get("extra_opts"):
        ctx.log(f"[WARNING]: unarchive ignores extra_opts {list(args['extra_opts'])}")
    with tempfile.TemporaryDirectory(prefix="corral-unarchive-") as tmp:
        local = _local_archive(ctx, args, Path(tmp))
        if isinstance(local, StepResult):
            local.data = {**data, **local.data}
            return local
        handler = handler_name(local)
        if handler is None:
            return StepResult(
                failed=True,
                msg=f'Failed to find handler for "{src}". Make sure the required command to '
                "extract the file is installed.",
                data=data,
            )
        data["handler"] = handler
        try:
            members = read_members(local)
        except UnsafeMember as exc:
            return StepResult(failed=True, msg=f"refusing to extract {src}: {exc}", data=data)
        except (OSError, ValueError, EOFError) as exc:
            return StepResult(failed=True, msg=f"cannot read the archive {src}: {exc}", data=data)
        if args.get("list_files"):
            data["files"] = [m.listed for m in members]
        chosen = select(members, args.get("include") or [], args.get("exclude") or [])
        return _apply(ctx, args, local, chosen, data)


def _precheck(ctx: StepContext, args: Mapping[str, Any], data: dict[str, Any]) -> StepResult | None:
    """The result when there is nothing to do (``creates`` exists) or ``dest`` is unusable."""
    creates, dest = args.get("creates"), str(args["dest"])
    if creates and ctx.conn.stat(creates, become=ctx.become, timeout=ctx.timeout) is not None:
        return StepResult(msg=f"skipped, since {creates} exists", data=data)
    target = ctx.conn.stat(dest, become=ctx.become, timeout=ctx.timeout)
    if target is None or not target.is_dir:
        return StepResult(failed=True, msg=f"dest '{dest}' must be an existing dir", data=data)
    return None


def _local_archive(ctx: StepContext, args: Mapping[str, Any], tmp: Path) -> Path | StepResult:
    """The archive as a file on the controller, or the failed result saying why not."""
    src = str(args["src"])
    remote = bool(args.get("remote_src", False)) or args.get("copy") is False
    if "://" in src:
        return _download(ctx, args, src, tmp / "archive")
    if not remote:
        found = ctx.find_file(src, "files")
        if found is None or not found.is_file():
            return StepResult(
                failed=True, msg=f"Could not find or access '{src}' on the controller"
            )
        return found
    current = ctx.conn.stat(src, become=ctx.become, timeout=ctx.timeout)
    if current is None:
        return StepResult(failed=True, msg=f"Source '{src}' does not exist")
    if current.is_dir:
        return StepResult(failed=True, msg=f"Source '{src}' is a directory, not an archive")
    local = tmp / "archive"
    ctx.conn.get(src, local, become=ctx.become, timeout=ctx.timeout)
    return local


def _download(
    ctx: StepContext, args: Mapping[str, Any], url: str, local: Path
) -> Path | StepResult:
    import httpx

    try:
        with (
            httpx.Client(
                verify=bool(args.get("validate_certs", True)),
                timeout=ctx.timeout or 30.0,
                follow_redirects=True,
            ) as client,
            client.stream("GET", url) as response,
        ):
            if response.status_code != 200:
                return StepResult(
                    failed=True, msg=f"Failure downloading {url}, HTTP {response.status_code}"
                )
            with local.open("wb") as out:
                for chunk in response.iter_bytes():
                    out.write(chunk)
    except httpx.HTTPError as exc:
        return StepResult(failed=True, msg=f"Failure downloading {url}: {exc}")
    return local


def _apply(
    ctx: StepContext,
    args: Mapping[str, Any],
    local: Path,
    members: Sequence[Member],
    data: dict[str, Any],
) -> StepResult:
    dest = str(args["dest"])
    paths = [posixpath.join(dest, m.name) for m in members]
    present = stat_paths(ctx, paths)
    mode = parse_mode(args.get("mode"))
    keep_newer = bool(args.get("keep_newer", False))
    todo, newer = [], []
    for member, path in zip(members, paths, strict=True):
        entry = present.get(path)
        if keep_newer and entry is not None and entry.mtime > member.mtime:
            newer.append(member)  # left alone, as tar --keep-newer-files does
        elif not _same(member, entry, mode):
            todo.append(member)
    if not todo:
        fixed = _attributes(ctx, args, paths, present)
        data.update(path_info(ctx, dest))
        return StepResult(changed=fixed, data=data)
    if ctx.check_mode:
        return StepResult(changed=True, msg=f"would extract {len(todo)} member(s)", data=data)
    packed = local.parent / "members.tar"
    repack(local, [m for m in members if m not in newer], packed)
    remote_tar = posixpath.join(dest, f".corral-unarchive-{secrets.token_hex(6)}.tar")
    ctx.conn.put(packed, remote_tar, mode=0o600, become=ctx.become, timeout=ctx.timeout)
    out = run_checked(ctx, ["/bin/sh", "-c", _EXTRACT, "unarchive", remote_tar, dest], "tar -x")
    command = ["tar", "-x", "-p", "-f", remote_tar, "-C", dest]
    data["extract_results"] = {"cmd": command, "rc": 0, "out": out, "err": ""}
    _attributes(ctx, args, paths, stat_paths(ctx, paths))
    data.update(path_info(ctx, dest))
    return StepResult(changed=True, data=data)


def _same(member: Member, entry: Entry | None, mode: int | None) -> bool:
    """Whether ``dest`` already has this member as the archive has it."""
    if entry is None:
        return False
    if member.kind == "dir":
        return entry.is_dir and (mode is not None or stat_mod.S_IMODE(entry.mode) == member.mode)
    if member.kind == "link":
        return entry.is_link
    if not entry.is_file:
        return False
    if member.kind == "hardlink":
        return True
    same_mode = mode is not None or stat_mod.S_IMODE(entry.mode) == member.mode
    return entry.size == member.size and entry.mtime == member.mtime and same_mode


def _attributes(
    ctx: StepContext, args: Mapping[str, Any], paths: Sequence[str], present: Mapping[str, Entry]
) -> bool:
    """Apply ``mode``/``owner``/``group`` to the extracted paths; whether any differed."""
    mode = parse_mode(args.get("mode"))
    owner, group = args.get("owner"), args.get("group")
    wrong: dict[str, list[str]] = {"chmod": [], "chown": [], "chgrp": []}
    for path in paths:
        entry = present.get(path)
        if entry is None:
            continue
        if mode is not None and not entry.is_link and stat_mod.S_IMODE(entry.mode) != mode:
            wrong["chmod"].append(path)
        if owner is not None and owner not in (entry.owner, str(entry.uid)):
            wrong["chown"].append(path)
        if group is not None and group not in (entry.group, str(entry.gid)):
            wrong["chgrp"].append(path)
    if ctx.check_mode:
        return any(wrong.values())
    values = {"chmod": f"{mode or 0:04o}", "chown": str(owner), "chgrp": str(group)}
    for tool, targets in wrong.items():
        flag = ["-h"] if tool != "chmod" else []
        for start in range(0, len(targets), 200):
            batch = targets[start : start + 200]
            run_checked(ctx, [tool, *flag, values[tool], "--", *batch], tool)
    return any(wrong.values())
