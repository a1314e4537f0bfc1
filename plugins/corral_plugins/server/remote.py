"""Runs the server hands whole to an executor's workers (``serve --executor celery``).

The executor's run queue (corral.executors.RunQueue) takes each queued run; what the
worker records comes back into this server's store (corral.store.mirror). A server
started again follows the runs its predecessor handed out and that are not over,
rather than queueing them a second time.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from corral.executors import RemoteRun, RunQueue
    from corral.store.db import Store

__all__ = ["adopt_handed_out", "open_run_queue"]


def open_run_queue(registry: Any, executor: str, environ: Mapping[str, str]) -> RunQueue | None:
    """The run queue of ``executor`` when it takes whole runs, else None (runs run here)."""
    if not executor:
        return None
    from corral.executors import executor_type

    found = executor_type(registry.executors, executor)
    return None if found.run_queue is None else found.run_queue(environ)


def adopt_handed_out(
    store: Store, queue: RunQueue, executor: str, home: Path
) -> dict[str, RemoteRun]:
    """The runs handed to ``executor``'s workers that are still queued or running, made
    this server's (their rows and leases) and followed again, by run id."""
    from corral.store.mirror import adopt, handed_out
    from corral_plugins.server.workers import spool_dir

    found = {}
    for row in handed_out(store, executor):
        run_id = row["run_id"]
        adopt(store, run_id)
        log = str(spool_dir(home, run_id) / "output.log")
        found[run_id] = queue.adopt(run_id, row["queue"], row["task"], log)
    return found
