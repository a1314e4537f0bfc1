"""``archive`` (community.general's): pack files on the host into a tar/zip, or compress one.

Globs are expanded by the host's shell; the file list (with ``exclude_path`` and
``exclusion_patterns`` applied) is made here and given to ``tar -c --no-recursion`` (GNU
or busybox), whose output ``gzip``/``bzip2``/``xz`` compress; ``zip`` uses the ``zip``
tool, else ``python3``. The new archive is built beside ``dest`` and replaces it only when
its content differs (same names, file contents and link targets count as the same, as in
community.general); in check mode it is built under ``/tmp`` and removed.
"""

from __future__ import annotations

import fnmatch
import posixpath
import secrets
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from corral import StepContext, StepResult
from corral_plugins.fileops.archives import fingerprint
from corral_plugins.fileops.hostfs import Entry, expand_globs, path_info, run_checked, walk
from corral_plugins.files.attributes import ensure_attributes

__all__ = ["archive"]

_COMPRESS = {"gz": "gzip -c -n", "bz2": "bzip2 -c", "xz": "xz -c"}
# "$1" the root to work in, "$2" the output, "$3" the compressor (empty: plain tar), then names.
_TAR = """cd "$1" || exit 1; out=$2; zip=$3; shift 3
if [ -z "$zip" ]; then exec tar -c --no-recursion -f "$out" -- "$@"; fi
tar -c --no-recursion -f "$out.tar" -- "$@" && $zip < "$out.tar" > "$out"; rc=$?
rm -f -- "$out.tar"; exit $rc"""
# "$1" the file, "$2" the output, "$3" the compressor.
_SINGLE = '$3 < "$1" > "$2"'
_ZIP = """cd "$1" || exit 1; out=$2; shift 2
if command -v zip >/dev/null 2>&1; then exec zip -q -y -X "$out" -- "$@"; fi
exec python3 -c '
import os, sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
    for name in sys.argv[2:]:
        if os.path.islink(name):
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o120777 << 16
            z.writestr(info, os.readlink(name))
        else:
            z.write(name)
' "$out" "$@"
"""


def archive(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Write the archive at ``dest`` when it is missing or its content differs."""
    fmt = str(args.get("format", "gz"))
    patterns = [str(p) for p in args["path"]]
    found, missing = expand_globs(ctx, patterns)
    excluded, _ = expand_globs(ctx, [str(p) for p in args.get("exclude_path") or []])
    paths = [p for p in found if not _under(p, excluded)]
    wildcards = any(ch in p for p in patterns for ch in "*?[")
    roots = {e.path: e for e in walk(ctx, paths) if e.path in paths}
    must_archive = bool(
        args.get("force_archive")
        or wildcards
        or len(paths) > 1
        or any(e.is_dir for e in roots.values())
    )
    if args.get("dest"):
        dest = str(args["dest"])
    elif must_archive:
        return StepResult(
            failed=True,
            msg='Error, must specify "dest" when archiving multiple files or trees',
        )
    else:
        dest = f"{patterns[0]}.{fmt}"
    data: dict[str, Any] = {
        "dest": dest,
        "expanded_paths": found,
        "expanded_exclude_paths": excluded,
        "missing": missing,
        "archived": [],
        "arcroot": "",
    }
    data["state"] = data["dest_state"] = "archive" if must_archive else "compress"
    current = ctx.conn.stat(dest, become=ctx.become, timeout=ctx.timeout)
    if not paths:
        if current is None:
            return StepResult(failed=True, msg="Error, no source paths were found", data=data)
        return StepResult(data={**data, **path_info(ctx, dest)})
    entries = _entries(ctx, args, paths, excluded, dest)
    root = _common_root(paths)
    data["arcroot"] = root
    data["archived"] = [e.path for e in entries]
    if missing:
        data["dest_state"] = "incomplete"
    single = not must_archive and fmt in _COMPRESS
    changed = _build(ctx, fmt, single, root, entries, dest, current is not None)
    if not ctx.check_mode and args.get("remove"):
        run_checked(ctx, ["rm", "-rf", "--", *paths], "removing the sources")
    fixed = bool(ensure_attributes(ctx, args, dest))
    data.update(path_info(ctx, dest))
    return StepResult(changed=changed or fixed, data=data)


def _under(path: str, parents: Sequence[str]) -> bool:
    return any(path == p or path.startswith(p.rstrip("/") + "/") for p in parents)


def _entries(
    ctx: StepContext,
    args: Mapping[str, Any],
    paths: Sequence[str],
    excluded: Sequence[str],
    dest: str,
) -> list[Entry]:
    patterns = [str(p) for p in args.get("exclusion_patterns") or []]

    def kept(entry: Entry) -> bool:
        name = posixpath.basename(entry.path)
        if entry.path == dest or _under(entry.path, excluded):
            return False
        return not any(fnmatch.fnmatch(entry.path, p) or fnmatch.fnmatch(name, p) for p in patterns)

    return [e for e in walk(ctx, paths) if kept(e)]


def _common_root(paths: Sequence[str]) -> str:
    """community.general's arcroot: the common prefix of the paths' parent directories."""
    parents = [posixpath.join(posixpath.dirname(p.rstrip("/")), "") for p in paths]
    prefix = posixpath.commonprefix(parents)
    return posixpath.join(posixpath.dirname(prefix), "") if prefix else ""


def _build(
    ctx: StepContext,
    fmt: str,
    single: bool,
    root: str,
    entries: Sequence[Entry],
    dest: str,
    exists: bool,
) -> bool:
    """Make the archive; replace ``dest`` with it if its content differs. Whether it did."""
    if ctx.check_mode and not exists:
        return True
    token = secrets.token_hex(6)
    # On the host: check mode leaves dest's directory alone (the name is random).
    out = f"/tmp/.corral-archive-{token}" if ctx.check_mode else f"{dest}.corral-{token}"  # noqa: S108
    names = [posixpath.relpath(e.path, root or "/") for e in entries]
    if single:
        argv = ["/bin/sh", "-c", _SINGLE, "archive", entries[0].path, out, _COMPRESS[fmt]]
    elif fmt == "zip":
        argv = ["/bin/sh", "-c", _ZIP, "archive", root or "/", out, *names]
    else:
        argv = ["/bin/sh", "-c", _TAR, "archive", root or "/", out, _COMPRESS.get(fmt, ""), *names]
    try:
        run_checked(ctx, argv, f"making the {fmt} archive")
        differs = not exists or _differs(ctx, out, dest, fmt, single)
        if differs and not ctx.check_mode:
            run_checked(ctx, ["mv", "-f", "--", out, dest], "mv")
    finally:
        ctx.conn.run(["rm", "-f", "--", out], timeout=ctx.timeout, become=ctx.become)
    return differs


def _differs(ctx: StepContext, new: str, old: str, fmt: str, single: bool) -> bool:
    """Whether two archives on the host hold different content (same bytes: the same)."""
    a = ctx.conn.stat(new, checksum=True, become=ctx.become, timeout=ctx.timeout)
    b = ctx.conn.stat(old, checksum=True, become=ctx.become, timeout=ctx.timeout)
    if a is not None and b is not None and a.checksum == b.checksum:
        return False
    with tempfile.TemporaryDirectory(prefix="corral-archive-") as tmp:
        local_new, local_old = Path(tmp) / "new", Path(tmp) / "old"
        ctx.conn.get(new, local_new, become=ctx.become, timeout=ctx.timeout)
        ctx.conn.get(old, local_old, become=ctx.become, timeout=ctx.timeout)
        try:
            return fingerprint(local_new, fmt, single) != fingerprint(local_old, fmt, single)
        except (OSError, EOFError, ValueError):  # the old one is not such an archive
            return True
