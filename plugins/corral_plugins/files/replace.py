"""The ``replace`` step: substitute every match of a regular expression in a file.

As Ansible's module: the file is decoded with ``encoding``, ``regexp`` is a Python
regular expression in MULTILINE mode (``^`` and ``$`` match at each line), ``replace``
may use ``\\1`` and ``\\g<name>``. ``after``/``before`` limit the work to the text after
the first match of one and before the first following match of the other (DOTALL).
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping
from typing import Any

from corral import StepContext, StepFailed, StepResult
from corral_plugins.files.edit import (
    BadArgument,
    content_diff,
    edited,
    failure,
    finish,
    read_target,
    target_path,
    write_target,
)

__all__ = ["replace"]


def replace(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Replace every match of ``regexp`` in a file on the host."""
    try:
        return _replace(ctx, args)
    except (BadArgument, StepFailed) as exc:
        return failure(exc)


def _compile(argument: str, pattern: str, flags: int) -> re.Pattern[str]:
    try:
        return re.compile(pattern, flags)
    except re.error as exc:
        raise BadArgument(f"{argument}: invalid regular expression {pattern!r}: {exc}") from exc


def _section(args: Mapping[str, Any]) -> re.Pattern[str] | None:
    """The pattern that finds the part of the file to work on, from ``after``/``before``."""
    after, before = args.get("after"), args.get("before")
    for name in ("after", "before"):
        if args.get(name):
            _compile(name, args[name], re.DOTALL)  # to name the culprit if it is wrong
    if after and before:
        return _compile("after/before", f"{after}(?P<subsection>.*?){before}", re.DOTALL)
    if after:
        return _compile("after", f"{after}(?P<subsection>.*)", re.DOTALL)
    if before:
        return _compile("before", f"(?P<subsection>.*){before}", re.DOTALL)
    return None


def _replace(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    path = target_path(args)
    encoding = args.get("encoding", "utf-8")
    try:
        codecs.lookup(encoding)
    except LookupError as exc:
        raise BadArgument(f"encoding: unknown encoding {encoding!r}") from exc
    regex = _compile("regexp", args["regexp"], re.MULTILINE)
    section_re = _section(args)
    target = read_target(ctx, path)
    if target.content is None:
        return StepResult(failed=True, rc=257, msg=f"Path {path} does not exist !")
    try:
        contents = target.content.decode(encoding, "surrogateescape")
    except UnicodeError as exc:
        raise BadArgument(f"cannot read {path} as {encoding}: {exc}") from exc
    start, end = 0, len(contents)
    if section_re is not None:
        found = section_re.search(contents)
        if found is None:
            msg = (
                "Pattern for before/after params did not match the given file: "
                f"{section_re.pattern}"
            )
            return StepResult(rc=0, msg=msg)
        start, end = found.start("subsection"), found.end("subsection")
    section = contents[start:end]
    try:
        new_section, count = regex.subn(args.get("replace", ""), section)
    except (re.error, IndexError) as exc:
        raise BadArgument(f"Unable to process replace due to error: {exc}") from exc
    changed = count > 0 and new_section != section
    msg = f"{count} replacements made" if changed else ""
    data: dict[str, Any] = {}
    diff = None
    if changed:
        result = contents[:start] + new_section + contents[end:]
        payload = result.encode(encoding, "surrogateescape")
        if ctx.diff:
            diff = content_diff(path, target.content, payload, path)
            diff.update(before=contents, after=result)
        backup = write_target(ctx, args, target, payload)
        if backup:
            data["backup_file"] = backup
    changed, msg = finish(ctx, args, target.path, changed=changed, msg=msg)
    return edited(changed=changed, msg=msg, rc=0, diff=diff, **data)
