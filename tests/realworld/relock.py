"""Rewrite content.lock: each content file's git blob id and where it was copied from.

    .venv/bin/python tests/realworld/relock.py SOURCE=OWNER/REPO@COMMIT=GIT_DIR ...

Files already in content.lock keep their recorded origin; a new file must lie under one of
the ``SOURCE`` directories given (a directory of content/, e.g. ``kubespray`` or
``galaxy-roles/geerlingguy.ntp``), and must be byte for byte the file at the same path in
``GIT_DIR`` (a clone or bare mirror of the repository) at ``COMMIT``, or relock refuses.
Used when adding content; test_realworld.py checks the lock on every run.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
CONTENT = HERE / "content"
LOCK = HERE / "content.lock"
HEADER = "# git blob id  content path  source repository@commit:path (see SOURCES.md)"


def blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def main(argv: list[str]) -> int:
    sources = {}
    for spec in argv:
        source, origin, git_dir = spec.split("=", 2)
        sources[source.strip("/")] = (origin, git_dir)
    known = {}
    if LOCK.exists():
        for line in LOCK.read_text().splitlines():
            if line and not line.startswith("#"):
                _blob, name, origin = line.split("  ")
                known[name] = origin
    lines = [HEADER]
    for path in sorted(p for p in CONTENT.rglob("*") if p.is_file()):
        name = path.relative_to(CONTENT).as_posix()
        blob = blob_id(path.read_bytes())
        origin = known.get(name) or _new_origin(name, blob, sources)
        lines.append(f"{blob}  {name}  {origin}")
    LOCK.write_text("\n".join(lines) + "\n")
    print(f"{len(lines) - 1} files in {LOCK.name}")
    return 0


def _new_origin(name: str, blob: str, sources: dict[str, tuple[str, str]]) -> str:
    for source in sorted(sources, key=len, reverse=True):
        if name.startswith(source + "/"):
            origin, git_dir = sources[source]
            inner = name.removeprefix(source + "/")
            commit = origin.partition("@")[2]
            upstream = subprocess.run(
                ["git", "--git-dir", git_dir, "rev-parse", f"{commit}:{inner}"],
                capture_output=True,
                text=True,
                check=False,
            ).stdout.strip()
            if upstream != blob:
                raise SystemExit(f"{name} differs from {origin}:{inner}: copy it unchanged")
            return f"{origin}:{inner}"
    raise SystemExit(f"{name} is new: say where it comes from with SOURCE=OWNER/REPO@COMMIT=DIR")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
