"""The ``apt_repository`` step: a one-line ``deb ...`` source in apt's lists, and the cache updated.

As Ansible's module: the line is compared with every enabled line of
/etc/apt/sources.list and /etc/apt/sources.list.d/*.list (whitespace aside); a
missing line goes to its own file (``filename``, else a name made from the URL); a
commented-out copy is enabled instead; ``absent`` removes every copy. When a
source changed, ``apt-get update`` runs (``update_cache``, default yes); if it
fails, the files are put back as they were.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from corral import StepContext, StepFailed, StepResult
from corral_plugins.files.attributes import parse_mode
from corral_plugins.packages import aptops
from corral_plugins.packages.sources import SOURCES_DIR, read_files, remove_file, write_file

__all__ = ["apt_repository", "suggest_filename"]


_TYPES = ("deb", "deb-src")


def _parse(line: str) -> tuple[bool, bool, str, str]:
    """(valid, enabled, source, comment) of a sources.list line, as Ansible reads it."""
    line = line.strip()
    enabled = not line.startswith("#")
    if not enabled:
        line = line[1:]
    comment = ""
    hash_at = line.find("#")
    if hash_at > 0:
        comment, line = line[hash_at + 1 :].strip(), line[:hash_at]
    chunks = line.split()
    valid = bool(chunks) and chunks[0] in _TYPES
    return valid, enabled, " ".join(chunks), comment


def suggest_filename(source: str) -> str:
    """The file Ansible puts a new source in: its URL's host and path, ``_``-joined."""
    line = re.sub(r"\[[^\]]+\]", "", source)
    line = re.sub(r"\w+://", "", line)
    parts = [part for part in line.split() if part not in _TYPES]
    first = parts[0].split("@", 1)[-1] if parts else "source"
    return "_".join(re.sub("[^a-zA-Z0-9]", " ", first).split())


def _format(enabled: bool, source: str, comment: str) -> str:
    return ("# " if not enabled else "") + source + (f" # {comment}" if comment else "")


def apt_repository(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Add or remove one source line, and update the cache when it changed."""
    valid, enabled, source, _ = _parse(str(args["repo"]))
    if not valid or not enabled:
        return StepResult(failed=True, msg=f"Invalid repository string: {args['repo']}")
    state = str(args.get("state", "present"))
    before = read_files(ctx, ["/etc/apt/sources.list", f"{SOURCES_DIR}/*.list"])
    after = dict(before)
    if state == "present":
        _add(after, source, args)
    else:
        _remove(after, source)
    changed = after != before
    data: dict[str, Any] = {"repo": args["repo"], "state": state}
    added = sorted(set(after) - set(before))
    removed = sorted(name for name in before if name in after and not after[name].strip())
    data["sources_added"], data["sources_removed"] = added, removed
    result = StepResult(changed=changed, data=data)
    if changed and ctx.diff:
        touched = [name for name in after if after[name] != before.get(name)]
        result.diff = {
            "before": "".join(before.get(name, "") for name in touched),
            "after": "".join(after[name] for name in touched),
            "before_header": ", ".join(n for n in touched if n in before) or "/dev/null",
            "after_header": ", ".join(touched),
        }
    if not changed or ctx.check_mode:
        return result
    _save(ctx, before, after, _mode(args.get("mode")), explicit=args.get("mode") is not None)
    if first_true(args, "update_cache", "update-cache"):
        try:
            aptops.update_cache(ctx, {**args, "cache_valid_time": 0})
        except StepFailed:
            _save(ctx, after, before, None, explicit=False)
            raise
    return result


def first_true(args: Mapping[str, Any], *names: str) -> bool:
    """The first of ``names`` that is given, as a boolean (Ansible's default here: yes)."""
    for name in names:
        if args.get(name) is not None:
            return bool(args[name])
    return True


def _add(files: dict[str, str], source: str, args: Mapping[str, Any]) -> None:
    for name, text in files.items():
        lines = text.splitlines()
        for number, line in enumerate(lines):
            valid, enabled, found, comment = _parse(line)
            if valid and found == source:
                if enabled:
                    return
                lines[number] = _format(True, found, comment)
                files[name] = "\n".join(lines) + "\n"
                return
    filename = args.get("filename") or suggest_filename(source)
    path = f"{SOURCES_DIR}/{filename}.list"
    current = files.get(path, "")
    if current and not current.endswith("\n"):
        current += "\n"
    files[path] = current + source + "\n"


def _remove(files: dict[str, str], source: str) -> None:
    for name, text in files.items():
        kept = []
        for line in text.splitlines():
            valid, enabled, found, _ = _parse(line)
            if not (valid and enabled and found == source):
                kept.append(line)
        if len(kept) != len(text.splitlines()):
            files[name] = "".join(f"{line}\n" for line in kept)


def _mode(value: Any) -> int:
    return parse_mode(value) or 0o644


def _save(
    ctx: StepContext,
    old: Mapping[str, str],
    new: Mapping[str, str],
    mode: int | None,
    *,
    explicit: bool,
) -> None:
    """Write the files that differ; an emptied file in sources.list.d is deleted.

    ``mode`` applies to new files, and to changed ones when given (``explicit``).
    """
    for name, text in new.items():
        if old.get(name) == text:
            continue
        if not text.strip() and name.startswith(SOURCES_DIR):
            remove_file(ctx, name)
        else:
            write_file(ctx, name, text, mode if explicit or name not in old else None)
    for name in set(old) - set(new):
        remove_file(ctx, name)
