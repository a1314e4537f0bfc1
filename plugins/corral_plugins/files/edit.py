"""What ``lineinfile``, ``blockinfile`` and ``replace`` share: read, check, write back.

Each of them reads the whole file from the host through the connection, computes the
new bytes on the controller (with Python's ``re``, as Ansible's modules do on the
host), and writes them back only when they differ. The write is ``conn.put``: a temp
file beside the target, then a rename, keeping the old file's mode and owner. With
``validate``, the candidate is first written to a temp file on the host and the command
is run on it; if it fails, the target is not touched. Symlinks are followed: the file
they point to is edited, as Ansible does.
"""

from __future__ import annotations

import os
import re
import shlex
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from corral import FileStat, StepContext, StepFailed, StepResult
from corral_plugins.files.attributes import (
    ensure_attributes,
    make_dirs,
    run_or_fail,
)

__all__ = [
    "BadArgument",
    "Target",
    "compile_regex",
    "content_diff",
    "edited",
    "exclusive",
    "failure",
    "finish",
    "read_target",
    "target_path",
    "write_target",
]

_ATTRIBUTES_MSG = "ownership, perms or SE linux context changed"


class BadArgument(StepFailed):
    """An argument the step cannot use; its message is the task's one-line error."""


def target_path(args: Mapping[str, Any]) -> str:
    """``path``, or whichever of its aliases (``dest``, ``destfile``, ``name``) was given."""
    for key in ("path", "dest", "destfile", "name"):
        if args.get(key):
            return str(args[key])
    raise BadArgument("missing required argument: path")


def compile_regex(argument: str, pattern: str, flags: int = 0) -> re.Pattern[bytes]:
    """``pattern`` compiled for bytes; a bad one is a :class:`BadArgument` naming ``argument``."""
    try:
        return re.compile(pattern.encode("utf-8", "surrogateescape"), flags)
    except re.error as exc:
        raise BadArgument(f"{argument}: invalid regular expression {pattern!r}: {exc}") from exc


def exclusive(args: Mapping[str, Any], *groups: tuple[str, str]) -> None:
    """Ansible's ``mutually_exclusive``: fail when both arguments of a pair are given."""
    for first, second in groups:
        if args.get(first) is not None and args.get(second) is not None:
            raise BadArgument(f"parameters are mutually exclusive: {first}|{second}")


@dataclass
class Target:
    """The file to edit: the path to write (symlinks resolved), its stat and its bytes."""

    path: str
    stat: FileStat | None
    content: bytes | None

    @property
    def exists(self) -> bool:
        return self.stat is not None


def read_target(ctx: StepContext, path: str) -> Target:
    """Stat and read ``path`` on the host; a symlink is followed to the file it names."""
    found = ctx.read_file(path)
    if found.stat is None:
        return Target(found.path, None, None)
    if found.stat.is_dir:
        raise BadArgument(f"Path {found.path} is a directory !")
    return Target(found.path, found.stat, found.data)


def write_target(
    ctx: StepContext, args: Mapping[str, Any], target: Target, payload: bytes
) -> str | None:
    """Write ``payload`` to the target (not in check mode); the backup's path, if one was made.

    Raises StepFailed when ``validate`` rejects the new content: the file is then untouched.
    """
    if ctx.check_mode:
        return None
    validate = args.get("validate")
    if validate is not None:  # first: a rejected file leaves no trace, not even a directory
        _validate(ctx, validate, payload)
    if not target.exists:
        parent = os.path.dirname(target.path)
        if parent and ctx.conn.stat(parent, become=ctx.become, timeout=ctx.timeout) is None:
            make_dirs(ctx, parent)
    backup = _backup(ctx, target.path) if args.get("backup") and target.exists else None
    ctx.conn.put(payload, target.path, become=ctx.become, timeout=ctx.timeout)
    return backup


def _validate(ctx: StepContext, validate: str, payload: bytes) -> None:
    """Run ``validate`` on a temporary copy of ``payload`` on the host; raise if it fails."""
    if "%s" not in validate:
        raise StepFailed(f"validate must contain %s: {validate}")
    try:
        argv = shlex.split(validate)
    except ValueError as exc:
        raise StepFailed(f"validate: cannot split {validate!r} into arguments: {exc}") from exc
    made = ctx.conn.run(["mktemp"], timeout=ctx.timeout, become=ctx.become)
    if made.rc != 0 or not made.stdout.strip():
        raise StepFailed(f"cannot make a temporary file on the host: {made.stderr.strip()}")
    candidate = made.stdout.strip()
    try:
        ctx.conn.put(payload, candidate, become=ctx.become, timeout=ctx.timeout)
        checked = ctx.conn.run(
            [part.replace("%s", candidate) for part in argv],
            timeout=ctx.timeout,
            become=ctx.become,
        )
    finally:
        ctx.conn.run(["rm", "-f", "--", candidate], timeout=ctx.timeout, become=ctx.become)
    if checked.timed_out:
        raise StepFailed("failed to validate: the command timed out")
    if checked.rc != 0:
        # Ansible shows stderr; a validator that reports on stdout is shown too.
        output = (checked.stderr or checked.stdout).strip()
        raise StepFailed(f"failed to validate: rc:{checked.rc} error:{output}")


def _backup(ctx: StepContext, path: str) -> str:
    """Ansible's backup name, ``<path>.<pid>.<date>@<time>~``, made with ``cp -p``."""
    backup = f"{path}.{os.getpid()}.{time.strftime('%Y-%m-%d@%H:%M:%S')}~"
    run_or_fail(ctx, ["cp", "-p", "--", path, backup])
    return backup


def finish(
    ctx: StepContext, args: Mapping[str, Any], path: str, *, changed: bool, msg: str
) -> tuple[bool, str]:
    """Apply mode/owner/group (planned only in check mode); the combined changed and msg.

    As Ansible's modules say it: "line added and ownership, perms or SE linux context
    changed".
    """
    changes = ensure_attributes(ctx, args, path)
    if not changes:
        return changed, msg
    return True, f"{msg} and {_ATTRIBUTES_MSG}" if changed else _ATTRIBUTES_MSG


def edited(
    *,
    changed: bool,
    msg: str,
    diff: Mapping[str, Any] | None,
    rc: int | None = None,
    **data: Any,
) -> StepResult:
    """The step's result; ``msg`` is kept even when empty, as Ansible returns it."""
    return StepResult(changed=changed, msg=msg, rc=rc, diff=diff, data={"msg": msg, **data})


def failure(exc: BadArgument | StepFailed, **data: Any) -> StepResult:
    """A failed result from a bad argument or a failed write."""
    msg = exc.message if isinstance(exc, StepFailed) else str(exc)
    return StepResult(failed=True, msg=msg, data=dict(data))


def content_diff(path: str, before: bytes | None, after: bytes, header: str) -> dict[str, Any]:
    """Ansible's content diff: the old and new text under the given header."""
    return {
        "before": (before or b"").decode("utf-8", "replace"),
        "after": after.decode("utf-8", "replace"),
        "before_header": header,
        "after_header": header,
    }
