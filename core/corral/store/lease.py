"""Who holds a run: the claim ``corral resume`` takes before it reads what to skip.

A run's row is its lease: ``status = 'running'`` with the holder's ``pid``, the host it
runs on (``controller``) and a ``heartbeat`` its store writer refreshes every few
seconds. Claiming a run is one conditional ``UPDATE`` (``... WHERE status NOT IN
('running', 'succeeded')``) inside a write transaction, its row count checked there:
of two ``corral resume`` racing for the same run, exactly one gets the row and the
other is refused with the holder's pid and host. A holder that died (its pid gone on
this host, or its heartbeat older than :data:`~corral.store.db.STALE_AFTER`) is marked
``interrupted`` by :meth:`~corral.store.db.Store.refresh_liveness` before any claim, so
its claim can be taken over.

::

    claim = claim_run(store, run_id, pid=os.getpid())   # or UsageError naming the holder
    ...                                                  # read units, prepare the run
    store.resume_run(run_id, pid=os.getpid(), claimed=True)  # the run starts
    # or, when it never started: release_run(store, claim)
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from corral.errors import UsageError

if TYPE_CHECKING:
    import sqlite3

    from corral.store.db import Store

__all__ = ["Claim", "claim_run", "not_resumable", "release_run"]

# The lease columns a claim sets, in the order Claim.before keeps their old values.
_LEASE = ("status", "pid", "controller", "heartbeat", "segment_started")


@dataclass(frozen=True)
class Claim:
    """A run claimed by this process, and the lease columns as they were before."""

    run_id: str
    pid: int
    controller: str
    resumes: int  # the run's resume count at the claim; resume_run adds one
    before: tuple[Any, ...]  # the old values of _LEASE


def claim_run(store: Store, run_id: str, *, pid: int) -> Claim:
    """Make process ``pid`` on this host the holder of ``run_id``, atomically.

    Raises :class:`~corral.errors.UsageError` (see :func:`not_resumable`) when the run
    is running (held by another process), succeeded, or no longer exists.
    """
    here = socket.gethostname()
    now = time.time()
    columns = ", ".join(_LEASE)
    with store.transaction() as conn:
        row = conn.execute(
            f"SELECT {columns}, resumes FROM runs WHERE id = ?",  # noqa: S608 - fixed names
            (run_id,),
        ).fetchone()
        claimed = conn.execute(
            """UPDATE runs SET status = 'running', pid = ?, controller = ?, heartbeat = ?,
                segment_started = ?
            WHERE id = ? AND status NOT IN ('running', 'succeeded')""",
            (pid, here, now, now, run_id),
        ).rowcount
        if claimed != 1:
            raise not_resumable(conn, run_id)
    return Claim(run_id, pid, here, int(row[-1] or 0), tuple(row[:-1]))


def release_run(store: Store, claim: Claim) -> bool:
    """Give back a claim whose run never started; returns whether it was still held.

    The lease columns get their old values back, but only while the run is still held
    by this claim and was not started (:meth:`~corral.store.db.Store.resume_run` counts
    the resume): a run that started ends through its store writer instead.
    """
    assignments = ", ".join(f"{name} = ?" for name in _LEASE)
    with store.transaction() as conn:
        released = conn.execute(
            f"UPDATE runs SET {assignments} WHERE id = ? AND status = 'running'"  # noqa: S608
            " AND pid = ? AND controller = ? AND resumes = ?",
            (*claim.before, claim.run_id, claim.pid, claim.controller, claim.resumes),
        ).rowcount
    return released == 1


def not_resumable(conn: sqlite3.Connection, run_id: str) -> UsageError:
    """The error for a run that cannot be claimed now: who holds it, or why not."""
    row = conn.execute(
        "SELECT status, pid, controller FROM runs WHERE id = ?", (run_id,)
    ).fetchone()
    if row is None:
        return UsageError(f"no run {run_id!r} in the store", hint="'corral history' lists the runs")
    status, pid, controller = row
    if status == "succeeded":
        return UsageError(
            f"run {run_id} succeeded: there is nothing to resume",
            hint="start a new run with 'corral run'",
        )
    return UsageError(
        f"run {run_id} is still running (pid {pid} on {controller})",
        hint=f"another corral holds it: wait for it to end, or stop it (Ctrl-C, or kill -TERM"
        f" {pid} on {controller}) and resume it then; a holder that died is detected",
    )
