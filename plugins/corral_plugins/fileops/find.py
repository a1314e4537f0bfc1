"""``find``: files on the host chosen by name, age, size, type, mode and content.

One ``find ... -exec stat -c`` command lists every candidate with its attributes (GNU and
busybox tools both do); the filters are Ansible's own, applied on the controller, so
patterns are Python globs/regexes exactly as in Ansible. ``contains`` reads the candidate
files' content (base64 through the connection) and applies the Python regex here too.
Times are whole seconds (``stat -c %Y``), not Ansible's fractions.
"""

from __future__ import annotations

import base64
import dataclasses
import fnmatch
import posixpath
import re
import shlex
import stat as stat_mod
import time
from collections.abc import Mapping, Sequence
from typing import Any

from corral import StepContext, StepFailed, StepResult
from corral_plugins.fileops.hostfs import STAT_FORMAT, Entry, parse_stat_lines, run_checked

__all__ = ["find"]

_AGE = re.compile(r"^(-?\d+)(s|m|h|d|w)?$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_SIZE = re.compile(r"^(-?\d+)(b|k|m|g|t)?$")
_BYTES = {"b": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
_NOT_A_DIRECTORY = "!notdir|"
_BATCH = 200
# GNU find quotes the path (curly quotes U+2018/U+2019 or 'x', by locale); busybox does not.
_FIND_ERROR = re.compile("^find: [\u2018']?(.+?)[\u2019']?: ([^:]+)$")


def find(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """List what matches under ``paths``, in Ansible's result shape (sorted by path)."""
    try:
        rules = _Rules(args)
    except ValueError as exc:
        return StepResult(failed=True, msg=str(exc))
    paths = [str(p) for p in (args.get("paths") or args.get("path") or args.get("name") or [])]
    entries, skipped = _list(ctx, args, paths)
    now = time.time()
    kept = [e for e in entries if rules.keeps(e, now)]
    if rules.contains is not None and rules.file_type == "file":  # as in Ansible
        kept = _with_content(ctx, kept, rules)
    kept.sort(key=lambda e: e.path)
    msg = "All paths examined"
    limit = args.get("limit")
    if limit is not None and len(kept) >= int(limit):
        kept, msg = kept[: int(limit)], "Limit of matches reached"
    files = [_describe(e) for e in kept]
    if args.get("get_checksum"):
        _add_checksums(ctx, files, _algorithm(args))
    if skipped:
        msg = "Not all paths examined, check warnings for details"
    return StepResult(
        msg=msg,
        data={
            "files": files,
            "matched": len(files),
            "examined": len(entries),
            "skipped_paths": skipped,
        },
    )


class _Rules:
    """The filters of one ``find`` task, checked like Ansible's module checks them."""

    def __init__(self, args: Mapping[str, Any]) -> None:
        self.use_regex = bool(args.get("use_regex", False))
        default = [".*"] if self.use_regex else ["*"]
        self.patterns = list(args.get("patterns") or args.get("pattern") or default)
        self.excludes = list(args.get("excludes") or args.get("exclude") or [])
        if self.use_regex:
            for pattern in self.patterns + self.excludes:
                try:
                    re.compile(pattern)
                except re.error as exc:
                    raise ValueError(f"argument 'patterns': bad regex {pattern!r}: {exc}") from exc
        self.file_type = str(args.get("file_type", "file"))
        self.hidden = bool(args.get("hidden", False))
        self.age = _scaled(args.get("age"), _AGE, _SECONDS, "age")
        self.age_stamp = str(args.get("age_stamp", "mtime"))
        self.size = _scaled(args.get("size"), _SIZE, _BYTES, "size")
        self.mode = _mode(args.get("mode"))
        self.exact_mode = bool(args.get("exact_mode", True))
        contains = args.get("contains")
        try:
            self.contains = None if contains is None else re.compile(str(contains))
        except re.error as exc:
            raise ValueError(f"argument 'contains': bad regex {contains!r}: {exc}") from exc
        self.whole_file = bool(args.get("read_whole_file", False))
        self.encoding = str(args.get("encoding") or "utf-8")

    def keeps(self, entry: Entry, now: float) -> bool:
        """Every filter but ``contains``."""
        name = posixpath.basename(entry.path)
        if name.startswith(".") and not self.hidden:
            return False
        wanted = {"any": True, "file": entry.is_file, "directory": entry.is_dir}
        if not wanted.get(self.file_type, entry.is_link):
            return False
        sized = self.file_type == "file" or (self.file_type == "any" and entry.is_file)
        return (
            self._named(name)
            and self._aged(entry, now)
            and (not sized or self._sized(entry))
            and self._moded(entry)
        )

    def _named(self, name: str) -> bool:
        def hit(patterns: Sequence[str]) -> bool:
            if self.use_regex:
                return any(re.match(p, name) for p in patterns)
            return any(fnmatch.fnmatch(name, p) for p in patterns)

        return hit(self.patterns) and not (self.excludes and hit(self.excludes))

    def _aged(self, entry: Entry, now: float) -> bool:
        if self.age is None:
            return True
        elapsed = now - int(getattr(entry, self.age_stamp))
        return elapsed >= abs(self.age) if self.age >= 0 else elapsed <= abs(self.age)

    def _sized(self, entry: Entry) -> bool:
        if self.size is None:
            return True
        return entry.size >= abs(self.size) if self.size >= 0 else entry.size <= abs(self.size)

    def _moded(self, entry: Entry) -> bool:
        if self.mode is None:
            return True
        bits = stat_mod.S_IMODE(entry.mode)
        return bits == self.mode if self.exact_mode else bool(bits & self.mode)

    def matches_text(self, data: bytes) -> bool:
        """Ansible's content filter: a line that starts with a match, or a search of it all."""
        assert self.contains is not None
        try:
            text = data.decode(self.encoding)
        except (UnicodeDecodeError, LookupError):
            return False
        if self.whole_file:
            return bool(self.contains.search(text))
        return any(self.contains.match(line) for line in text.splitlines(keepends=True))


def _scaled(value: Any, pattern: re.Pattern[str], units: Mapping[str, int], key: str) -> int | None:
    if value is None:
        return None
    found = pattern.match(str(value).lower())
    if found is None:
        raise ValueError(f"argument '{key}': failed to process {key} {value!r}")
    return int(found.group(1)) * units.get(found.group(2) or "", 1)


def _mode(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        return stat_mod.S_IMODE(int(str(value), 8) if isinstance(value, str) else int(value))
    except ValueError:
        raise ValueError(
            f"argument 'mode': {value!r} is not an octal mode (symbolic modes are not supported)"
        ) from None


def _list(
    ctx: StepContext, args: Mapping[str, Any], paths: Sequence[str]
) -> tuple[list[Entry], dict[str, str]]:
    """Every entry under ``paths`` (to the depth asked), and the paths that are not directories."""
    depth = int(args.get("depth") or 0)
    maxdepth = 1 if not args.get("recurse", False) else depth
    options = ["-mindepth", "1", *(["-maxdepth", str(maxdepth)] if maxdepth else [])]
    follow = "-L " if args.get("follow", False) else ""
    stat_cmd = f"-exec stat -c {shlex.quote(STAT_FORMAT)} -- {{}} +"
    script = (
        'for p; do if [ -d "$p" ]; then '
        f'find {follow}"$p" {" ".join(options)} {stat_cmd}; '
        f"else printf '%s%s\\n' {shlex.quote(_NOT_A_DIRECTORY)} \"$p\"; fi; done"
    )
    result = ctx.conn.run(
        ["/bin/sh", "-c", script, "find", *paths], timeout=ctx.timeout, become=ctx.become
    )
    if result.timed_out:
        raise StepFailed("find timed out")
    skipped = {
        line[len(_NOT_A_DIRECTORY) :]: f"'{line[len(_NOT_A_DIRECTORY) :]}' is not a directory"
        for line in result.stdout.splitlines()
        if line.startswith(_NOT_A_DIRECTORY)
    }
    skipped.update(_unreadable(result.stderr))
    for path, why in skipped.items():
        ctx.log(f"[WARNING]: Skipped '{path}' path due to this access issue: {why}")
    entries = [
        dataclasses.replace(e, path=posixpath.normpath(e.path))
        for e in parse_stat_lines(result.stdout)
    ]
    return entries, skipped


def _unreadable(stderr: str) -> dict[str, str]:
    """Paths ``find`` could not read (``find: 'x': Permission denied``), with the reason."""
    found = {}
    for line in stderr.splitlines():
        match = _FIND_ERROR.match(line)
        if match:
            found[match.group(1)] = match.group(2)
    return found


def _with_content(ctx: StepContext, entries: list[Entry], rules: _Rules) -> list[Entry]:
    """Keep the files whose content matches ``contains`` (others than files are dropped)."""
    files = [e for e in entries if e.is_file]
    kept = []
    script = "for f; do printf '%s\\n' \"$(base64 < \"$f\" 2>/dev/null | tr -d '\\n')\"; done"
    for start in range(0, len(files), _BATCH):
        batch = files[start : start + _BATCH]
        out = run_checked(
            ctx, ["/bin/sh", "-c", script, "contains", *(e.path for e in batch)], "reading files"
        )
        for entry, line in zip(batch, out.splitlines(), strict=False):
            if rules.matches_text(base64.b64decode(line)):
                kept.append(entry)
    return kept


def _describe(entry: Entry) -> dict[str, Any]:
    """Ansible's per-file dict (``statinfo``) plus ``path``."""
    mode = entry.mode
    out: dict[str, Any] = {
        "path": entry.path,
        "mode": f"{stat_mod.S_IMODE(mode):04o}",
        "isdir": stat_mod.S_ISDIR(mode),
        "ischr": stat_mod.S_ISCHR(mode),
        "isblk": stat_mod.S_ISBLK(mode),
        "isreg": stat_mod.S_ISREG(mode),
        "isfifo": stat_mod.S_ISFIFO(mode),
        "islnk": stat_mod.S_ISLNK(mode),
        "issock": stat_mod.S_ISSOCK(mode),
        "uid": entry.uid,
        "gid": entry.gid,
        "size": entry.size,
        "inode": entry.inode,
        "dev": entry.dev,
        "nlink": entry.nlink,
        "atime": entry.atime,
        "mtime": entry.mtime,
        "ctime": entry.ctime,
        "gr_name": entry.group,
        "pw_name": entry.owner,
    }
    for who, shift in (("usr", 6), ("grp", 3), ("oth", 0)):
        out[f"w{who}"] = bool(mode & (2 << shift))
        out[f"r{who}"] = bool(mode & (4 << shift))
        out[f"x{who}"] = bool(mode & (1 << shift))
    out["isuid"] = bool(mode & stat_mod.S_ISUID)
    out["isgid"] = bool(mode & stat_mod.S_ISGID)
    return out


def _add_checksums(ctx: StepContext, files: list[dict[str, Any]], algorithm: str) -> None:
    """``checksum`` of each regular file, with the host's ``<algorithm>sum`` tool."""
    regular = [f for f in files if f["isreg"]]
    by_path: dict[str, str] = {}
    for start in range(0, len(regular), _BATCH):
        batch = [f["path"] for f in regular[start : start + _BATCH]]
        out = run_checked(ctx, [f"{algorithm}sum", "--", *batch], f"{algorithm}sum")
        for line in out.splitlines():
            digest, _, path = line.partition("  ")
            by_path[path] = digest
    for item in regular:
        if item["path"] in by_path:
            item["checksum"] = by_path[item["path"]]


def _algorithm(args: Mapping[str, Any]) -> str:
    for key in ("checksum_algorithm", "checksum", "checksum_algo"):
        if args.get(key):
            return str(args[key])
    return "sha1"
