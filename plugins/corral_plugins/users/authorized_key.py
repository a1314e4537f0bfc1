"""The ``authorized_key`` step: ``ansible.posix.authorized_key``, SSH keys a user accepts.

Keys are added to (or removed from) the user's ``~/.ssh/authorized_keys`` (or ``path``)
exactly as Ansible's module does it (see :mod:`corral_plugins.users.authkeys`): a key is
the same when its blob, type, options and comment are; a key whose options or comment
differ is replaced and moves to the end; ``exclusive`` drops every other key. Ansible
fetches ``key`` when it starts with ``http``; corral does not (a clear error says so):
read the keys with a lookup (``lookup('url', ...)``, ``lookup('file', ...)``) instead.
"""

from __future__ import annotations

import posixpath
import shlex
from collections.abc import Mapping
from typing import Any

from corral import StepContext, StepFailed, StepResult
from corral_plugins.users.accounts import Passwd, read_accounts, run
from corral_plugins.users.authkeys import (
    Entry,
    parse_file,
    parse_key,
    parse_options,
    serialize,
    with_rank,
)

__all__ = ["authorized_key"]

# $1 directory to manage ("" = none), $2 file, $3 uid, $4 gid: Ansible's keyfile(write=True).
_PREPARE = r"""set -e
if [ -n "$1" ]; then
  [ -d "$1" ] || mkdir -m 700 "$1"
  chown "$3:$4" "$1"; chmod 700 "$1"
fi
[ -d "$(dirname "$2")" ] || mkdir -p "$(dirname "$2")"
"""


def authorized_key(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Make the given keys present in (or absent from) the user's authorized keys file."""
    try:
        return _authorized_key(ctx, args)
    except StepFailed as exc:
        return StepResult(failed=True, msg=exc.message)


def _new_keys(args: Mapping[str, Any]) -> list[Entry]:
    raw = args["key"]
    text = "\n".join(raw) if isinstance(raw, list) else str(raw)
    if text.startswith("http"):
        raise StepFailed(
            f"key: {text!r} looks like a URL; corral does not fetch keys: give the keys "
            "themselves, e.g. key: \"{{ lookup('url', URL, split_lines=false) }}\""
        )
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    options = parse_options(args["key_options"]) if args.get("key_options") is not None else None
    entries = []
    for index, line in enumerate(lines):
        entry = parse_key(line, index)
        if entry is None or entry.line is not None:
            raise StepFailed(f"key: invalid key specified: {line}")
        if options is not None:
            entry = Entry(entry.ident, index, entry.key_type, options, entry.comment)
        if args.get("comment") is not None:
            entry = Entry(entry.ident, index, entry.key_type, entry.options, args["comment"])
        entries.append(entry)
    return entries


def _merge(existing: dict[str, Entry], new: list[Entry], present: bool, exclusive: bool) -> bool:
    """Change ``existing`` as Ansible's enforce_state does; whether anything changed."""
    changed = False
    base = len(existing)
    wanted: list[str] = []
    for entry in new:
        old = existing.get(entry.ident)
        matched = old is not None and (old.same_key(entry) or not present)
        if present:
            wanted.append(entry.ident)
            if old is not None and not matched:
                del existing[entry.ident]
                changed = True
            if not matched:
                existing[entry.ident] = with_rank(entry, base + entry.rank)
                changed = True
        elif matched:
            del existing[entry.ident]
            changed = True
    if present and exclusive:
        for ident in [i for i in existing if i not in wanted]:
            del existing[ident]
            changed = True
    return changed


def _lookup(ctx: StepContext, user: str) -> Passwd | None:
    return read_accounts(ctx, user).passwd


def _realpath(ctx: StepContext, path: str) -> str:
    result = run(ctx, ["readlink", "-m", "--", path])
    return result.stdout.strip() if result.rc == 0 and result.stdout.strip() else path


def _authorized_key(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    user = str(args["user"])
    new = _new_keys(args)
    path = args.get("path")
    present = args.get("state", "present") == "present"
    manage_dir = bool(args.get("manage_dir", True))
    entry = None if (ctx.check_mode and path) else _lookup(ctx, user)
    if entry is None and not (ctx.check_mode and path):
        if ctx.check_mode:
            raise StepFailed(
                "Either user must exist or you must provide full path to key file in check mode"
            )
        raise StepFailed(f"Failed to lookup user {user}: getpwnam(): name not found: {user!r}")
    if path:
        keyfile, sshdir = str(path), posixpath.dirname(str(path))
    else:
        assert entry is not None
        sshdir = posixpath.join(entry.home, ".ssh")
        keyfile = posixpath.join(sshdir, "authorized_keys")
    if args.get("follow"):
        keyfile = _realpath(ctx, keyfile)
    before = _read(ctx, keyfile)
    existing = parse_file(before)
    changed = _merge(existing, new, present, bool(args.get("exclusive")))
    after = serialize(existing)
    data: dict[str, Any] = {
        "user": user,
        "key": args["key"],
        "path": path,
        "manage_dir": manage_dir,
        "state": args.get("state", "present"),
        "key_options": args.get("key_options"),
        "exclusive": bool(args.get("exclusive")),
        "comment": args.get("comment"),
        "follow": bool(args.get("follow")),
        "validate_certs": args.get("validate_certs", True),
        "keyfile": keyfile,
    }
    diff = None
    if changed and ctx.diff:
        diff = {"before_header": keyfile, "after_header": keyfile, "before": before}
        diff["after"] = after
    if changed and not ctx.check_mode:
        assert entry is not None
        _write(ctx, keyfile, sshdir if manage_dir else "", entry, after)
    return StepResult(changed=changed, diff=diff, data=data)


def _read(ctx: StepContext, path: str) -> str:
    result = run(ctx, ["sh", "-c", 'if [ -f "$1" ]; then cat -- "$1"; fi', "sh", path])
    if result.rc != 0:
        raise StepFailed(f"cannot read {path}: {result.stderr.strip()}")
    return result.stdout


def _write(ctx: StepContext, path: str, sshdir: str, entry: Passwd, text: str) -> None:
    ids = [str(entry.uid), str(entry.gid)]
    prepared = run(ctx, ["sh", "-c", _PREPARE, "sh", sshdir, path, *ids])
    if prepared.rc != 0:
        raise StepFailed(f"Failed to create directory {sshdir}: {prepared.stderr.strip()}")
    ctx.conn.put(text.encode(), path, mode=0o600, become=ctx.become, timeout=ctx.timeout)
    owned = run(ctx, f"chown {ids[0]}:{ids[1]} {shlex.quote(path)}")
    if owned.rc != 0:
        raise StepFailed(f"cannot give {path} to {entry.name}: {owned.stderr.strip()}")
