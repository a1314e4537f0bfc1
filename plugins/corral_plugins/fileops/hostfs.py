"""Many paths on the host at once, through shell tools only (no Python needed there).

``find``, ``unarchive`` and ``archive`` describe many paths: one ``stat -c`` call per batch
of paths (GNU coreutils and busybox both read the same format) instead of one round trip
per path. Names holding a newline are not supported (``stat`` prints one line per path).
"""

from __future__ import annotations

import stat as stat_mod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from corral import StepContext, StepFailed

__all__ = [
    "STAT_FORMAT",
    "Entry",
    "expand_globs",
    "parse_stat_lines",
    "path_info",
    "run_checked",
    "stat_paths",
    "walk",
]

# raw mode (hex), size, uid, gid, user, group, atime, mtime, ctime, inode, links, device,
# then the name last, so a "|" in a name does no harm.
STAT_FORMAT = "%f|%s|%u|%g|%U|%G|%X|%Y|%Z|%i|%h|%d|%n"
_FIELDS = STAT_FORMAT.count("|")
# Paths per stat command: far below any host's argument-length limit.
_BATCH = 400


@dataclass(frozen=True)
class Entry:
    """One path as ``stat`` (not following symlinks) describes it."""

    path: str
    mode: int
    size: int
    uid: int
    gid: int
    owner: str
    group: str
    atime: int
    mtime: int
    ctime: int
    inode: int
    nlink: int
    dev: int

    @property
    def is_dir(self) -> bool:
        return stat_mod.S_ISDIR(self.mode)

    @property
    def is_file(self) -> bool:
        return stat_mod.S_ISREG(self.mode)

    @property
    def is_link(self) -> bool:
        return stat_mod.S_ISLNK(self.mode)


def parse_stat_lines(text: str) -> list[Entry]:
    """The entries of ``stat -c STAT_FORMAT`` output; lines that do not parse are skipped."""
    found = []
    for line in text.splitlines():
        parts = line.split("|", _FIELDS)
        if len(parts) != _FIELDS + 1:
            continue
        try:
            mode, size, uid, gid = int(parts[0], 16), int(parts[1]), int(parts[2]), int(parts[3])
            atime, mtime, ctime, inode, nlink, dev = (int(p) for p in parts[6:12])
        except ValueError:
            continue
        owner = "" if parts[4] == "UNKNOWN" else parts[4]
        group = "" if parts[5] == "UNKNOWN" else parts[5]
        numbers = (atime, mtime, ctime, inode, nlink, dev)
        found.append(Entry(parts[12], mode, size, uid, gid, owner, group, *numbers))
    return found


def stat_paths(ctx: StepContext, paths: Sequence[str]) -> dict[str, Entry]:
    """The paths of ``paths`` that exist, by path (symlinks described, not followed)."""
    out: dict[str, Entry] = {}
    for start in range(0, len(paths), _BATCH):
        batch = list(paths[start : start + _BATCH])
        # stat exits 1 when some path is missing; what it printed is still right.
        result = ctx.conn.run(
            ["stat", "-c", STAT_FORMAT, "--", *batch], timeout=ctx.timeout, become=ctx.become
        )
        if result.timed_out:
            raise StepFailed("stat timed out")
        out.update((entry.path, entry) for entry in parse_stat_lines(result.stdout))
    return out


def run_checked(ctx: StepContext, argv: Iterable[str], what: str) -> str:
    """Run ``argv`` on the host as the task's become user; its stdout, or StepFailed."""
    result = ctx.conn.run(list(argv), timeout=ctx.timeout, become=ctx.become)
    if result.timed_out:
        raise StepFailed(f"{what} timed out")
    if result.rc != 0:
        reason = result.stderr.strip().splitlines()
        raise StepFailed(f"{what} failed: {reason[-1] if reason else f'rc={result.rc}'}")
    return result.stdout


def path_info(ctx: StepContext, path: str) -> dict[str, Any]:
    """What Ansible adds to any result naming a ``path``/``dest`` that exists on the host."""
    st = ctx.conn.stat(path, become=ctx.become, timeout=ctx.timeout)
    if st is None:
        return {}
    state = "link" if st.is_link else "directory" if st.is_dir else "file"
    return {
        "uid": st.uid,
        "gid": st.gid,
        "owner": st.owner or str(st.uid),
        "group": st.group or str(st.gid),
        "mode": f"{stat_mod.S_IMODE(st.mode):04o}",
        "state": state,
        "size": st.size,
    }


# "$@" paths: each path and everything under it, one stat line each (symlinks not followed).
_WALK = f"find \"$@\" -exec stat -c '{STAT_FORMAT}' -- {{}} + 2>/dev/null; exit 0"

# "$@" globs: the paths each one matches (the shell expands them), or "!missing|<glob>".
_EXPAND = """IFS='
'
for pat; do found=0
  for f in $pat; do
    if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\\n' "$f"; found=1; fi
  done
  [ "$found" = 1 ] || printf '!missing|%s\\n' "$pat"
done"""


def walk(ctx: StepContext, paths: Sequence[str]) -> list[Entry]:
    """Each of ``paths`` and everything below it."""
    if not paths:
        return []
    out = run_checked(ctx, ["/bin/sh", "-c", _WALK, "walk", *paths], "find")
    return parse_stat_lines(out)


def expand_globs(ctx: StepContext, patterns: Sequence[str]) -> tuple[list[str], list[str]]:
    """The paths the shell globs ``patterns`` match on the host, and the patterns matching none."""
    if not patterns:
        return [], []
    out = run_checked(ctx, ["/bin/sh", "-c", _EXPAND, "expand", *patterns], "glob expansion")
    found, missing = [], []
    for line in out.splitlines():
        if line.startswith("!missing|"):
            missing.append(line[len("!missing|") :])
        elif line and line not in found:
            found.append(line)
    return found, missing
