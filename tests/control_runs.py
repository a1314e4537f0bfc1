"""Helpers of the cancel, pause and wind-down tests: a project in ``tmp_path`` whose runs
are real ``corral`` processes, a log file the playbooks append to, and the store."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

__all__ = ["corral", "env", "log_lines", "query"]


def env(tmp_path: Path) -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "CORRAL_HOME": str(tmp_path / "home"), "USER": "tester"}


def corral(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``corral ARGS`` in the project, to its end (60 s at most)."""
    return subprocess.run(
        [sys.executable, "-m", "corral", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env(tmp_path),
        timeout=60,
        check=False,
    )


def log_lines(tmp_path: Path) -> list[str]:
    """The words the playbook's tasks appended to ``log.txt``."""
    log = tmp_path / "log.txt"
    return log.read_text().split() if log.exists() else []


def query(tmp_path: Path, sql: str, *args: object) -> list[tuple[object, ...]]:
    with sqlite3.connect(tmp_path / "home" / "corral.db") as conn:
        return conn.execute(sql, args).fetchall()
