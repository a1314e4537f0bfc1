"""Approvals through the run store, so a run can be approved from another shell.

A waiting run writes a ``pending`` row and polls it; ``corral approve RUN`` (or
the terminal of the run itself, or the timeout) settles it. The row keeps who
answered, when and with what comment.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any

from corral.engine.approval import ApprovalDecision, ApprovalRequest, PollStore
from corral.store.db import Store, open_store

__all__ = ["answer", "decide", "pending", "store_poller", "waiting"]


def request(store: Store, req: ApprovalRequest) -> int:
    with store.transaction() as conn:
        cursor = conn.execute(
            "INSERT INTO approvals (run_id, key, message, requested, timeout, forbid_starter) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (req.run_id, req.key, req.message, time.time(), req.timeout, req.forbid_starter),
        )
        return int(cursor.lastrowid or 0)


def settle(store: Store, approval_id: int, decision: ApprovalDecision) -> None:
    """Record how a request ended (answered at the terminal, or timed out)."""
    status = (
        "timed_out" if decision.timed_out else ("approved" if decision.approved else "rejected")
    )
    with store.transaction() as conn:
        conn.execute(
            "UPDATE approvals SET status = ?, decided_by = ?, comment = ?, decided = ? "
            "WHERE id = ? AND status = 'pending'",
            (status, decision.by, decision.comment, time.time(), approval_id),
        )


def pending(store: Store, run_id: str) -> list[dict[str, Any]]:
    rows = store.conn.execute(
        "SELECT id, key, message, requested, timeout FROM approvals "
        "WHERE run_id = ? AND status = 'pending' ORDER BY id",
        (run_id,),
    ).fetchall()
    return [
        dict(zip(("id", "key", "message", "requested", "timeout"), row, strict=True))
        for row in rows
    ]


def decide(store: Store, run_id: str, *, approved: bool, by: str, comment: str) -> int:
    """Answer every pending approval of a run; returns how many were answered.

    Raises :class:`~corral.errors.UsageError` when one of them forbids its run's
    starter to answer and ``by`` started the run (nothing is answered then).
    """
    return _answer_where(store, "run_id", run_id, approved=approved, by=by, comment=comment)


def answer(store: Store, approval_id: int, *, approved: bool, by: str, comment: str) -> bool:
    """Answer one pending approval; False when it is not pending (any more).

    The same four-eyes rule as :func:`decide`.
    """
    found = _answer_where(store, "id", approval_id, approved=approved, by=by, comment=comment)
    return found == 1


def _answer_where(
    store: Store, column: str, value: Any, *, approved: bool, by: str, comment: str
) -> int:
    """Answer the pending approvals whose ``column`` (``id`` or ``run_id``) is ``value``,
    unless one forbids ``by`` as its run's starter; how many were answered."""
    from corral.errors import UsageError

    # ``column`` is one of two fixed names, never input.
    where = f"a.{column} = ? AND a.status = 'pending'"
    with store.transaction() as conn:
        starter = conn.execute(
            "SELECT a.run_id FROM approvals a JOIN runs r ON r.id = a.run_id"  # noqa: S608
            f" WHERE {where} AND a.forbid_starter AND r.started_by = ?",
            (value, by),
        ).fetchone()
        if starter is not None:
            raise UsageError(
                f"{by} started run {starter[0]} and its approval forbids the starter to answer",
                hint="someone else approves it (forbid_starter: true)",
            )
        cursor = conn.execute(
            "UPDATE approvals SET status = ?, decided_by = ?, comment = ?, decided = ?"  # noqa: S608
            f" WHERE {column} = ? AND status = 'pending'",
            ("approved" if approved else "rejected", by, comment, time.time(), value),
        )
        return int(cursor.rowcount)


def waiting(store: Store) -> list[dict[str, Any]]:
    """Every pending approval of a running run, oldest first, with its run's playbook."""
    names = ("id", "run_id", "key", "message", "requested", "timeout", "forbid_starter")
    rows = store.conn.execute(
        "SELECT a.id, a.run_id, a.key, a.message, a.requested, a.timeout, a.forbid_starter,"
        " r.playbook, r.started_by FROM approvals a JOIN runs r ON r.id = a.run_id"
        " WHERE a.status = 'pending' AND r.status = 'running' ORDER BY a.id"
    ).fetchall()
    return [
        {
            **dict(zip(names, row[:7], strict=True)),
            "forbid_starter": bool(row[6]),
            "playbook": row[7],
            "started_by": row[8],
        }
        for row in rows
    ]


def store_poller(environ: Mapping[str, str]) -> tuple[PollStore, Any]:
    """A ``poll_store`` for :func:`corral.engine.approval.make_approver`, and a finisher.

    The poller registers each request on first sight and returns the decision once
    ``corral approve`` made one; the finisher records how requests ended otherwise.
    """
    local = threading.local()  # approvals wait in worker threads; one connection each
    ids: dict[str, int] = {}

    def store() -> Store:
        if getattr(local, "store", None) is None:
            local.store = open_store(environ)
        found: Store = local.store
        return found

    def poll(req: ApprovalRequest) -> ApprovalDecision | None:
        key = f"{req.run_id}/{req.key}"
        if key not in ids:
            ids[key] = request(store(), req)
            return None
        row = (
            store()
            .conn.execute(
                "SELECT status, decided_by, comment FROM approvals WHERE id = ?", (ids[key],)
            )
            .fetchone()
        )
        if row is None or row[0] == "pending":
            return None
        return ApprovalDecision(approved=row[0] == "approved", by=row[1], comment=row[2])

    def finish(req: ApprovalRequest, decision: ApprovalDecision) -> None:
        key = f"{req.run_id}/{req.key}"
        if key in ids:
            settle(store(), ids.pop(key), decision)

    return poll, finish
