"""The ``blockinfile`` step: a block of lines between two marker lines, kept up to date.

As Ansible's module: the block between the begin and end markers is replaced (or
removed, with ``state: absent`` or an empty ``block``); when the markers are not both
there, the block is inserted after/before the last line matching ``insertafter``/
``insertbefore`` (a pattern with ``(?m)`` is searched in the whole file), at ``EOF``
(the default) or ``BOF``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from corral import StepContext, StepFailed, StepResult
from corral_plugins.files.edit import (
    BadArgument,
    compile_regex,
    content_diff,
    edited,
    exclusive,
    failure,
    finish,
    read_target,
    target_path,
    write_target,
)

__all__ = ["blockinfile"]

NL = b"\n"


def blockinfile(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Insert, update or remove a marked block of lines in a file on the host."""
    try:
        return _blockinfile(ctx, args)
    except (BadArgument, StepFailed) as exc:
        return failure(exc)


def _blockinfile(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    exclusive(args, ("insertbefore", "insertafter"), ("block", "content"))
    path = target_path(args)
    after, before = args.get("insertafter"), args.get("insertbefore")
    if after is None and before is None:
        after = "EOF"
    anchor = None
    if after not in (None, "EOF"):
        anchor = compile_regex("insertafter", after)
    elif before not in (None, "BOF"):
        anchor = compile_regex("insertbefore", before)
    present = args.get("state", "present") == "present"
    target = read_target(ctx, path)
    if target.content is None:
        if not present:
            return StepResult(msg=f"File {path} not present")
        if not args.get("create"):
            return StepResult(failed=True, rc=257, msg=f"Path {path} does not exist !")
    lines = (target.content or b"").splitlines(keepends=True)
    begin, end, block = _block_lines(args, present)
    at = _place(lines, begin, end, anchor, target.content or b"", after, before)
    if at > 0 and not lines[at - 1].endswith(NL):
        lines[at - 1] += NL
    if present and args.get("prepend_newline") and at != 0 and lines[at - 1] != NL:
        lines.insert(at, NL)
        at += 1
    lines[at:at] = block
    following = at + len(block)
    wants_blank = present and args.get("append_newline")
    if wants_blank and following < len(lines) and lines[following] != NL:
        lines.insert(following, NL)
    payload = b"".join(lines)
    changed = target.content != payload
    msg = ""
    if changed:
        msg = "File created" if target.content is None else "Block inserted"
        msg = "Block removed" if target.content is not None and not block else msg
    diff = content_diff(path, target.content, payload, f"{path} (content)") if ctx.diff else None
    backup = write_target(ctx, args, target, payload) if changed else None
    data: dict[str, Any] = {"backup_file": backup} if backup else {}
    if ctx.check_mode and not target.exists:
        return edited(changed=changed, msg=msg, diff=diff)
    changed, msg = finish(ctx, args, target.path, changed=changed, msg=msg)
    return edited(changed=changed, msg=msg, diff=diff, **data)


def _block_lines(args: Mapping[str, Any], present: bool) -> tuple[bytes, bytes, list[bytes]]:
    """The begin and end marker lines, and the lines to insert (none to remove the block)."""
    marker = args.get("marker", "# {mark} ANSIBLE MANAGED BLOCK").encode()
    begin = marker.replace(b"{mark}", args.get("marker_begin", "BEGIN").encode()) + NL
    end = marker.replace(b"{mark}", args.get("marker_end", "END").encode()) + NL
    block = str(args.get("block", args.get("content", ""))).encode()
    if not (present and block):
        return begin, end, []
    if not block.endswith(NL):
        block += NL
    return begin, end, [begin, *block.splitlines(keepends=True), end]


def _place(
    lines: list[bytes],
    begin: bytes,
    end: bytes,
    anchor: re.Pattern[bytes] | None,
    original: bytes,
    after: str | None,
    before: str | None,
) -> int:
    """Where the block goes; an existing block (both markers found) is cut out of ``lines``."""
    first = last = None
    for number, line in enumerate(lines):
        if line == begin:
            first = number
        if line == end:
            last = number
    if first is not None and last is not None:
        low, high = min(first, last), max(first, last)
        del lines[low : high + 1]
        return low
    if anchor is None:
        return 0 if before is not None else len(lines)
    at = None
    if anchor.flags & re.MULTILINE:
        match = anchor.search(original)
        if match:
            at = original.count(NL, 0, match.end() if after else match.start())
    else:
        for number, line in enumerate(lines):
            if anchor.search(line):
                at = number
    if at is None:
        return len(lines)
    return at + 1 if after is not None else at
