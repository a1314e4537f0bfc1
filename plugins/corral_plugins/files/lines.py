"""The ``lineinfile`` step: make sure one line is in a file (or that matching lines are not).

The decisions follow Ansible's module line for line, on the file's bytes: a line that
matches ``regexp`` (or contains ``search_string``) is replaced, the last one unless
``firstmatch``; when none does, the line is added after/before the line matching
``insertafter``/``insertbefore`` (the last match, or the first with ``firstmatch``), at
``BOF`` or ``EOF``, unless the exact line is already there. ``backrefs`` expands the
regexp's groups in ``line`` and adds nothing when the regexp does not match.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from corral import StepContext, StepFailed, StepResult
from corral_plugins.files.edit import (
    BadArgument,
    Target,
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

__all__ = ["lineinfile"]

NL = b"\n"


@dataclass
class _Edit:
    lines: list[bytes]
    msg: str = ""
    changed: bool = False

    def insert(self, index: int, line: bytes) -> None:
        self.lines.insert(index, line + NL)
        self.msg, self.changed = "line added", True


def lineinfile(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Ensure a line is present in (or absent from) a file on the host."""
    try:
        result = _lineinfile(ctx, args)
    except (BadArgument, StepFailed) as exc:
        return failure(exc)
    warning = _empty_pattern_warning(args)
    if warning:
        result.data["warnings"] = [warning]
    return result


def _empty_pattern_warning(args: Mapping[str, Any]) -> str:
    """Ansible's warning for an empty ``regexp`` or ``search_string`` (it matches every line)."""
    if args.get("regexp", args.get("regex")) == "":
        what, hint = (
            "regular expression",
            (
                " If this is desired, use '^' to match every line in the file"
                " and avoid this warning."
            ),
        )
    elif args.get("search_string") == "":
        what, hint = "search string", ""
    else:
        return ""
    return (
        f"The {what} is an empty string, which will match every line in the file. This may "
        "have unintended consequences, such as replacing the last line in the file rather "
        f"than appending.{hint}"
    )


def _lineinfile(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    exclusive(
        args,
        ("insertbefore", "insertafter"),
        ("regexp", "search_string"),
        ("regex", "search_string"),
        ("line", "value"),
        ("regexp", "regex"),
    )
    path = target_path(args)
    line = args.get("line", args.get("value"))
    pattern = args.get("regexp", args.get("regex"))
    search = args.get("search_string")
    if args.get("backrefs") and search is not None:
        raise BadArgument("parameters are mutually exclusive: backrefs|search_string")
    regex = None if pattern is None else compile_regex("regexp", pattern)
    present = args.get("state", "present") == "present"
    if present:
        if args.get("backrefs") and regex is None:
            raise BadArgument("regexp is required with backrefs=true")
        if line is None:
            raise BadArgument("line is required with state=present")
        after, before = args.get("insertafter"), args.get("insertbefore")
        if after is None and before is None:
            after = "EOF"
        anchor = None
        if after not in (None, "BOF", "EOF"):
            anchor = compile_regex("insertafter", after)
        elif before not in (None, "BOF"):
            anchor = compile_regex("insertbefore", before)
    elif (pattern, search, line) == (None, None, None):
        raise BadArgument("one of line, search_string, or regexp is required with state=absent")
    target = read_target(ctx, path)
    header = f"{path} (content)"
    if not present:
        return _absent(ctx, args, target, regex, search, line, header)
    if target.content is None and not args.get("create"):
        return StepResult(failed=True, rc=257, msg=f"Destination {path} does not exist !")
    original = target.content or b""
    edit = _Edit(original.splitlines(keepends=True))
    _present(edit, line.encode(), regex, search, anchor, after, before, args)
    payload = b"".join(edit.lines)
    diff = content_diff(path, original, payload, header) if ctx.diff else None
    backup = write_target(ctx, args, target, payload) if edit.changed else None
    data: dict[str, Any] = {"backup": backup or ""}
    if ctx.check_mode and not target.exists:
        return edited(changed=edit.changed, msg=edit.msg, diff=diff, **data)
    changed, msg = finish(ctx, args, target.path, changed=edit.changed, msg=edit.msg)
    return edited(changed=changed, msg=msg, diff=diff, **data)


def _present(
    edit: _Edit,
    line: bytes,
    regex: re.Pattern[bytes] | None,
    search: str | None,
    anchor: re.Pattern[bytes] | None,
    after: str | None,
    before: str | None,
    args: Mapping[str, Any],
) -> None:
    """Ansible's ``present``: find the line to replace or the place to insert, then do it."""
    firstmatch = bool(args.get("firstmatch"))
    found, match = _find(edit.lines, regex, search, firstmatch)
    insert_at = -1
    if match is None:
        found, insert_at = _scan(edit.lines, line, anchor, after, firstmatch)
    if found != -1:
        new = line
        if args.get("backrefs") and isinstance(match, re.Match):
            try:
                new = match.expand(line)
            except (re.error, IndexError) as exc:
                raise BadArgument(f"line: cannot fill in the backreferences: {exc}") from exc
        if not new.endswith(NL):
            new += NL
        if edit.lines[found] != new:
            edit.lines[found] = new
            edit.msg, edit.changed = "line replaced", True
    elif args.get("backrefs"):
        return  # without a match there is nothing to expand the backreferences from
    elif "BOF" in (before, after):
        edit.insert(0, line)
    elif after == "EOF" or insert_at == -1:
        if edit.lines and edit.lines[-1][-1:] not in (b"\n", b"\r"):
            edit.lines.append(NL)
        edit.insert(len(edit.lines), line)
    elif after:
        _insert_after(edit, line, insert_at)
    else:
        edit.insert(insert_at, line)


def _scan(
    lines: list[bytes],
    line: bytes,
    anchor: re.Pattern[bytes] | None,
    after: str | None,
    firstmatch: bool,
) -> tuple[int, int]:
    """Where the exact line already is (the last one), and where to insert it (or -1s)."""
    found = insert_at = -1
    for number, current in enumerate(lines):
        if line == current.rstrip(b"\r\n"):
            found = number
        elif anchor is not None and anchor.search(current):
            insert_at = number + 1 if after else number
            if firstmatch:
                break
    return found, insert_at


def _find(
    lines: list[bytes], regex: re.Pattern[bytes] | None, search: str | None, firstmatch: bool
) -> tuple[int, re.Match[bytes] | bool | None]:
    """The index of the (last, or first) line matching ``regex`` or holding ``search``."""
    found: int = -1
    match: re.Match[bytes] | bool | None = None
    if regex is not None:
        for number, current in enumerate(lines):
            hit = regex.search(current)
            if hit:
                found, match = number, hit
                if firstmatch:
                    break
    if search is not None:
        needle = search.encode()
        for number, current in enumerate(lines):
            if needle in current:
                found, match = number, True
                if firstmatch:
                    break
    return found, match


def _insert_after(edit: _Edit, line: bytes, insert_at: int) -> None:
    """Insert at ``insert_at`` unless the line there (or the last line, at EOF) is it."""
    if len(edit.lines) == insert_at:
        if edit.lines[insert_at - 1].rstrip(b"\r\n") != line:
            edit.lines.append(line + NL)
            edit.msg, edit.changed = "line added", True
    elif edit.lines[insert_at].rstrip(b"\r\n") != line:
        edit.insert(insert_at, line)


def _absent(
    ctx: StepContext,
    args: Mapping[str, Any],
    target: Target,
    regex: re.Pattern[bytes] | None,
    search: str | None,
    line: str | None,
    header: str,
) -> StepResult:
    """Remove every line matching ``regex``, holding ``search``, or equal to ``line``."""
    if target.content is None:
        return StepResult(msg="file not present")
    kept: list[bytes] = []
    found = 0
    for current in target.content.splitlines(keepends=True):
        if regex is not None:
            hit = bool(regex.search(current))
        elif search is not None:
            hit = search.encode() in current
        else:
            hit = (line or "").encode() == current.rstrip(b"\r\n")
        found += hit
        if not hit:
            kept.append(current)
    payload = b"".join(kept)
    diff = content_diff(target.path, target.content, payload, header) if ctx.diff else None
    backup = write_target(ctx, args, target, payload) if found else None
    msg = f"{found} line(s) removed" if found else ""
    changed, msg = finish(ctx, args, target.path, changed=bool(found), msg=msg)
    return edited(changed=changed, msg=msg, diff=diff, found=found, backup=backup or "")
