"""Every place a run's text ends up, read back so that tests can look for leaked secrets.

A sink is anything a user (or another user of the machine) can read after a run: the
run's output, the run store's files byte for byte, and what the history commands print.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from corral.testing import CorralProject

STORE_FILES = ("corral.db", "corral.db-wal", "corral.db-shm")

# The history commands, each given the run's id: together they print everything stored.
HISTORY_COMMANDS: tuple[tuple[str, ...], ...] = (
    ("show",),
    ("show", "--json"),
    ("logs",),
    ("logs", "-vv"),
    ("logs", "--json"),
    ("report", "--format", "html"),
    ("report", "--format", "json"),
)


def home(project: CorralProject) -> Path:
    return Path(project.env["CORRAL_HOME"])


def store_bytes(project: CorralProject) -> dict[str, bytes]:
    """The store's files (and crash files) as they are on disk now, byte for byte."""
    found: dict[str, bytes] = {}
    for name in STORE_FILES:
        path = home(project) / name
        if path.exists():
            found[name] = path.read_bytes()
    crash = home(project) / "crash"
    if crash.is_dir():
        for path in sorted(crash.iterdir()):
            found[f"crash/{path.name}"] = path.read_bytes()
    return found


@contextmanager
def store_held_open(project: CorralProject) -> Iterator[None]:
    """Keep a connection on the store, so that ``-wal`` and ``-shm`` outlive corral's own.

    SQLite folds the write-ahead log into the database and deletes it when the last
    connection closes; with this one open, the log written by a run stays on disk to
    be read. The store must exist (run corral once before).
    """
    conn = sqlite3.connect(home(project) / "corral.db")
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        yield
    finally:
        conn.close()


def history_outputs(project: CorralProject, run_ids: Iterable[str]) -> dict[str, str]:
    """What every history command prints for each run, and ``corral history --json``."""
    # In-process: what these print depends on the store only, and they are many.
    outputs: dict[str, str] = {}
    for run_id in run_ids:
        for command in HISTORY_COMMANDS:
            result = project.run(*command, run_id)
            assert result.exit_code == 0, (command, result.output)
            outputs[f"corral {' '.join(command)} {run_id}"] = result.output
    result = project.run("history", "--json")
    assert result.exit_code == 0, result.output
    outputs["corral history --json"] = result.output
    return outputs


def run_ids(project: CorralProject) -> list[str]:
    """The ids of every run in the store, oldest first."""
    conn = sqlite3.connect(home(project) / "corral.db")
    try:
        return [row[0] for row in conn.execute("SELECT id FROM runs ORDER BY started")]
    finally:
        conn.close()


def leaks(secrets: Mapping[str, str], sinks: Mapping[str, str | bytes]) -> list[str]:
    """``route -> sink`` for every secret found in a sink; empty when nothing leaked."""
    found = []
    for route, secret in secrets.items():
        for sink, content in sinks.items():
            hit = secret.encode() in content if isinstance(content, bytes) else secret in content
            if hit:
                found.append(f"{route} -> {sink}")
    return found
