"""The ``file`` trigger: run when files change (watchfiles: inotify on Linux).

Changes are batched: a run fires once ``debounce`` milliseconds pass without a new
change, with the changed paths (sorted, absolute) as its ``changed`` param. An editor
saving a file in several writes, or a deploy writing a hundred, starts one run.
A watched path that does not exist yet is watched from its nearest existing parent, so
creating it fires too; the files of a directory made and filled at once are found even
when they were written before inotify watched it.
"""

from __future__ import annotations

import fnmatch
import glob
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from corral import TriggerContext

__all__ = ["Watched", "watch"]


class Watched:
    """The directories to watch for a ``paths`` argument, and which changed paths count."""

    def __init__(self, paths: Any, base: Path) -> None:
        self.patterns = [str((base / p).absolute()) for p in _as_list(paths)]
        roots = {_existing_root(pattern) for pattern in self.patterns}
        # Watching a directory covers everything below it: drop roots inside another.
        inner = {r for r in roots for o in roots if r != o and r.is_relative_to(o)}
        self.roots = sorted(roots - inner)

    def matches(self, path: str) -> bool:
        for pattern in self.patterns:
            if glob.has_magic(pattern):
                if fnmatch.fnmatchcase(path, pattern):
                    return True
            elif path == pattern or path.startswith(pattern.rstrip("/") + "/"):
                return True
        return False


def _as_list(paths: Any) -> list[str]:
    return [paths] if isinstance(paths, str) else [str(p) for p in paths]


def _existing_root(pattern: str) -> Path:
    """The deepest existing directory above the pattern's first glob (or the path itself)."""
    parts = Path(pattern).parts
    first_glob = next((i for i, part in enumerate(parts) if glob.has_magic(part)), len(parts))
    path = Path(*parts[:first_glob])
    while not path.is_dir():
        path = path.parent
    return path


def watch(ctx: TriggerContext, args: Mapping[str, Any]) -> None:
    """Fire once per batch of matching changes until ``ctx.stopping`` is set."""
    import watchfiles

    watched = Watched(args["paths"], Path(ctx.playbook).parent)
    quiet = int(args.get("debounce", 1600))
    # watchfiles yields a batch once ``step`` ms pass without a change (or ``debounce`` ms
    # after the first one): ``step`` is our quiet period. With a short step, a writer that
    # pauses (a loaded machine, a deploy between files) split one batch into several runs.
    changes_seen = watchfiles.watch(
        *watched.roots,
        stop_event=ctx.stopping,  # seen within a step
        debounce=max(10 * quiet, 10_000),  # a file written without end still fires
        step=quiet,
        rust_timeout=500,
        yield_on_timeout=False,
    )
    for changes in changes_seen:
        paths = {path for _, path in changes}
        # A directory made and filled at once: its files may come before inotify watches
        # it, so they are looked for.
        for path in [p for p in paths if os.path.isdir(p)]:
            paths.update(_files_below(path))
        changed = sorted(path for path in paths if watched.matches(path))
        if changed:
            ctx.fire({"changed": changed})


def _files_below(directory: str, limit: int = 10_000) -> list[str]:
    found: list[str] = []
    for root, _dirs, files in os.walk(directory):
        found.extend(os.path.join(root, name) for name in files)
        if len(found) >= limit:
            break
    return found[:limit]
