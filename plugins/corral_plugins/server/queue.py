"""The server's durable queue: every fire is written to the store before its run starts.

A fire is one row in ``fires`` (what fired, when, a digest of its payload, the params
it gives the run) and, unless its trigger's overlap policy skipped it, one ``queued``
row in ``runs`` under a new run id, both in one transaction: an accepted webhook
delivery or a cron tick is never lost, even when the server dies before a worker
starts it. The server starts queued runs oldest first (:func:`queued_runs`); a worker
takes its row over (``corral run --queued-run``). ``delivery`` is unique per trigger:
a webhook delivered twice, or a cron time fired twice (a restart inside the grace),
queues one run.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from corral.store.db import Store

__all__ = [
    "Fire",
    "Queued",
    "active_runs",
    "enqueue",
    "fail_unstarted",
    "fire_params",
    "payload_digest",
    "queued_runs",
]


def payload_digest(payload: Any) -> str:
    """sha256 of the payload (bytes as they are, anything else as canonical JSON)."""
    data = (
        payload
        if isinstance(payload, bytes)
        else json.dumps(payload, sort_keys=True, default=str).encode()
    )
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Fire:
    """What fired: a trigger of a playbook (or a person, through the API)."""

    playbook: str  # the project-relative path the worker runs
    trigger: str  # trigger_key(...), or "api"
    kind: str  # cron, webhook, file, run, api
    params: Mapping[str, Any] = field(default_factory=dict)
    payload: Any = None
    delivery: str | None = None
    started_by: str = ""
    # ``corral run`` options for the run, as the store keeps them: {"limit": ..., "check": ...}
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Queued:
    """The run a fire queued (``duplicate``: the delivery had queued it already)."""

    run_id: str
    fire_id: int
    duplicate: bool = False


def enqueue(store: Store, fire: Fire, *, outcome: str = "queued") -> Queued:
    """Record ``fire`` and, unless ``outcome`` says it was skipped, queue its run."""
    from corral.engine.run import new_run_id

    for _ in range(5):  # run ids are a second's time and 24 random bits: retry a clash
        try:
            return _enqueue(store, fire, new_run_id(), outcome)
        except sqlite3.IntegrityError as exc:
            if "runs.id" not in str(exc):
                raise
    raise RuntimeError("could not find a free run id")


def _enqueue(store: Store, fire: Fire, run_id: str, outcome: str) -> Queued:
    now = time.time()
    queue = outcome == "queued"
    try:
        with store.transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO fires (time, playbook, trigger, kind, delivery, payload_digest,"
                " params, run_id, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    now,
                    fire.playbook,
                    fire.trigger,
                    fire.kind,
                    fire.delivery,
                    payload_digest(fire.payload),
                    json.dumps(fire.params, sort_keys=True, default=str),
                    run_id if queue else None,
                    outcome,
                ),
            )
            if queue:
                conn.execute(
                    "INSERT INTO runs (id, playbook, playbook_file, status, started, trigger,"
                    " started_by, params, options, check_mode)"
                    " VALUES (?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?)",
                    (
                        run_id,
                        fire.playbook,
                        fire.playbook,
                        now,
                        fire.kind,
                        fire.started_by,
                        json.dumps(fire.params, sort_keys=True, default=str),
                        json.dumps(fire.options, sort_keys=True),
                        int(bool(fire.options.get("check"))),
                    ),
                )
    except sqlite3.IntegrityError as exc:
        if fire.delivery is None or "fires." not in str(exc):
            raise
        row = store.conn.execute(
            "SELECT id, run_id FROM fires WHERE playbook = ? AND trigger = ? AND delivery = ?",
            (fire.playbook, fire.trigger, fire.delivery),
        ).fetchone()
        return Queued(run_id=row[1] or "", fire_id=int(row[0]), duplicate=True)
    return Queued(run_id=run_id if queue else "", fire_id=int(cursor.lastrowid or 0))


def queued_runs(store: Store, limit: int) -> list[dict[str, Any]]:
    """The oldest ``limit`` queued runs, with the trigger that fired each."""
    rows = store.conn.execute(
        "SELECT r.id, r.playbook, r.started, f.trigger FROM runs r"
        " LEFT JOIN fires f ON f.run_id = r.id"
        " WHERE r.status = 'queued' ORDER BY r.started, r.id LIMIT ?",
        (limit,),
    ).fetchall()
    return [{"id": r[0], "playbook": r[1], "queued": r[2], "trigger": r[3] or ""} for r in rows]


def fire_params(store: Store, run_id: str) -> dict[str, Any]:
    """The params the fire of ``run_id`` gives it (not redacted: the store is private)."""
    row = store.conn.execute("SELECT params FROM fires WHERE run_id = ?", (run_id,)).fetchone()
    return dict(json.loads(row[0])) if row else {}


def fail_unstarted(store: Store, run_id: str, code: int | None) -> bool:
    """The run's worker has exited with ``code``: if the run is still queued, it never
    started (the playbook is gone, bad params): mark it failed, not queued for a retry
    loop. True when it did so."""
    from corral.store.db import finish_run_in

    row = store.run_row(run_id)
    if row is None or row["status"] != "queued":
        return False
    with store.transaction() as conn:
        finish_run_in(conn, run_id, "failed", code, time.time(), None)
    return True


def active_runs(store: Store, playbook: str, trigger: str) -> list[tuple[str, str]]:
    """The trigger's runs still queued or running, as (run id, status), oldest first."""
    return [
        (row[0], row[1])
        for row in store.conn.execute(
            "SELECT r.id, r.status FROM fires f JOIN runs r ON r.id = f.run_id"
            " WHERE f.playbook = ? AND f.trigger = ? AND r.status IN ('queued', 'running')"
            " ORDER BY f.time",
            (playbook, trigger),
        )
    ]
