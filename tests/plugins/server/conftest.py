"""The ``served`` fixture: a project to serve, its server and workers stopped after the test."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from served import LOCAL_INVENTORY, Served

from corral.testing import CorralProject


@pytest.fixture
def served(corral_project: CorralProject) -> Iterator[Served]:
    """A project with a local inventory, served when the test calls ``start()``."""
    corral_project.write("inventory.ini", LOCAL_INVENTORY)
    server = Served(corral_project)
    yield server
    if server.process is not None and server.process.poll() is None:
        os.killpg(server.process.pid, signal.SIGKILL)
        server.process.wait(timeout=30)
    _kill_workers(Path(corral_project.env["CORRAL_HOME"]))


def _kill_workers(home: Path) -> None:
    """Workers still running (a test that killed its server): stop them, by their pids."""
    from corral.store import Store

    if not (home / "corral.db").exists():
        return
    store = Store(home / "corral.db")
    try:
        pids = [
            row[0] for row in store.conn.execute("SELECT pid FROM runs WHERE status = 'running'")
        ]
    finally:
        store.close()
    for pid in pids:
        if pid:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(int(pid), signal.SIGKILL)
