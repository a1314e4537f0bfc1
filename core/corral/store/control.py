"""Cancel and pause a run from any process, through the run store's ``run_control`` table.

``corral cancel``, ``corral pause`` and ``corral continue`` (and the server's API) write
one row per run (``action`` ``cancel`` or ``pause``, who asked, when, a grace period);
``continue`` deletes a pause. The running run reads its row with a :class:`ControlWatcher`,
a daemon thread polling the row every :data:`POLL_EVERY` seconds through a connection of
its own, and hands what it finds to the run's
:class:`~corral.engine.signals.StopControl`: a cancel winds the run down as a first
SIGTERM does (it ends ``cancelled``, exit 99), a pause holds new units at the next task
boundary until the row is gone. ``corral cancel --now`` (a cancel row whose ``grace`` is
:data:`NOW`) aborts the run at once, as a second signal does, also one already winding down.

A ``queued`` run (waiting for a server's worker) that is cancelled is marked ``cancelled``
at once, by a conditional ``UPDATE ... WHERE status = 'queued'``, so no worker starts it.
A run that ended is refused with its status. The row goes when the run ends
(:func:`final_status`, called by :func:`~corral.store.db.finish_run_in`), so a resumed run
starts without it.

::

    result = request_cancel(store, "last", by="ann@ops1", grace=10.0)
    print(result.message)
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from corral.errors import StoreError, UsageError

if TYPE_CHECKING:
    from corral.engine.signals import StopControl
    from corral.store.db import Store

__all__ = [
    "NOW",
    "POLL_EVERY",
    "Control",
    "ControlResult",
    "ControlWatcher",
    "final_status",
    "pending_control",
    "request_cancel",
    "request_continue",
    "request_pause",
]

POLL_EVERY = 0.5  # seconds between two reads of a running run's control row
# The grace of a cancel asked with --now: abort at once, no cleanup. A sentinel in the
# grace column rather than a third action, so the table's CHECK needs no migration.
NOW = -1.0
_ACTIVE = ("queued", "running")


@dataclass(frozen=True)
class Control:
    """What was asked of a run and is not yet settled."""

    run_id: str
    action: str  # cancel | pause
    requested: float
    requested_by: str
    grace: float | None

    @property
    def now(self) -> bool:
        """A cancel asked with ``--now``: abort at once, without cleanup."""
        return self.action == "cancel" and self.grace is not None and self.grace < 0


@dataclass(frozen=True)
class ControlResult:
    """What a request did: ``outcome`` is ``asked`` (the run acts on it at its next task
    boundary, or at once for ``now``), ``cancelled`` (a queued run, cancelled at once),
    ``cancelling`` (a cancel was asked before: nothing changes) or ``not_paused``."""

    run_id: str
    action: str  # cancel | pause | continue
    outcome: str
    status: str  # the run's status after the request
    by: str
    grace: float | None = None
    now: bool = False  # corral cancel --now

    @property
    def message(self) -> str:
        """One line for people: what was asked, of which run."""
        run = self.run_id
        if self.outcome == "cancelled":
            return f"cancelled queued run {run}: it will not start"
        if self.outcome == "not_paused":
            return f"run {run} is not paused: nothing to continue"
        if self.action == "cancel":
            return self._cancel_message()
        if self.action == "pause":
            return (
                f"asked run {run} to pause: running tasks finish, no new task starts "
                f"until 'corral continue {run}'"
            )
        return f"asked run {run} to continue"

    def _cancel_message(self) -> str:
        run = self.run_id
        if self.outcome == "cancelling":
            return (
                f"run {run} is already being cancelled; "
                f"'corral cancel {run} --now' aborts it at once"
            )
        if self.now:
            return (
                f"asked run {run} to abort now: running tasks are killed, "
                "no always section, handler or rollback runs"
            )
        within = f"up to {self.grace:g}s" if self.grace is not None else "its --grace"
        return (
            f"asked run {run} to cancel: running tasks get {within} to finish, "
            "always sections, handlers and rollbacks run, no new task starts"
        )

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "message": self.message}


def request_cancel(
    store: Store, run: str, *, by: str, grace: float | None = None, now: bool = False
) -> ControlResult:
    """Ask run ``run`` (an id, a unique prefix, ``last``) to cancel, on behalf of ``by``.

    ``grace``: seconds running units get before they are killed (default: the run's
    ``--grace``); the cleanup after them gets as long again. ``now``: abort at once,
    without cleanup, also a run already being cancelled. Raises
    :class:`~corral.errors.UsageError` when no such run exists or it has ended.
    """
    if now:
        grace = None
    run_id = store.resolve_run(run)["id"]
    when = time.time()
    with store.transaction() as conn:
        status = _active_status(conn, run_id, "cancel")
        queued = conn.execute(
            "UPDATE runs SET status = 'cancelled', ended = ? WHERE id = ? AND status = 'queued'",
            (when, run_id),
        ).rowcount
        if queued:
            conn.execute("DELETE FROM run_control WHERE run_id = ?", (run_id,))
            # The run never starts: its one event says who cancelled it.
            _record_event(conn, run_id, when, action="cancel", by=by, grace=grace, queued=True)
            return ControlResult(run_id, "cancel", "cancelled", "cancelled", by, grace, now)
        if not now and _action(conn, run_id) == "cancel":
            # The first request stands (its grace, who asked): the run is already on it.
            return ControlResult(run_id, "cancel", "cancelling", status, by)
        _ask(conn, run_id, "cancel", when, by, NOW if now else grace)
    return ControlResult(run_id, "cancel", "asked", status, by, grace, now)


def request_pause(store: Store, run: str, *, by: str) -> ControlResult:
    """Ask run ``run`` to start no new unit until :func:`request_continue`."""
    run_id = store.resolve_run(run)["id"]
    with store.transaction() as conn:
        status = _active_status(conn, run_id, "pause")
        if _action(conn, run_id) == "cancel":
            raise UsageError(
                f"run {run_id} is being cancelled: it cannot be paused",
                hint=f"'corral show {run_id}' shows how far it got",
            )
        _ask(conn, run_id, "pause", time.time(), by, None)
    return ControlResult(run_id, "pause", "asked", status, by)


def request_continue(store: Store, run: str, *, by: str) -> ControlResult:
    """Lift a pause of run ``run``; ``not_paused`` when there was none."""
    run_id = store.resolve_run(run)["id"]
    with store.transaction() as conn:
        status = _active_status(conn, run_id, "continue")
        lifted = conn.execute(
            "DELETE FROM run_control WHERE run_id = ? AND action = 'pause'", (run_id,)
        ).rowcount
    return ControlResult(run_id, "continue", "asked" if lifted else "not_paused", status, by)


def pending_control(store: Store, run_id: str) -> Control | None:
    """The cancel or pause asked of ``run_id`` and not yet settled, if any."""
    row = store.conn.execute(
        "SELECT action, requested, requested_by, grace FROM run_control WHERE run_id = ?",
        (run_id,),
    ).fetchone()
    return None if row is None else Control(run_id, *row)


def final_status(conn: sqlite3.Connection, run_id: str, status: str, exit_code: int | None) -> str:
    """The status a run ending as ``status`` is recorded with; settles its control row.

    A run that wound down (exit 99, recap written) after a cancel was asked is
    ``cancelled``, not ``interrupted``; a process that died stays ``interrupted``.
    """
    asked = _action(conn, run_id)
    if asked is None:
        return status
    conn.execute("DELETE FROM run_control WHERE run_id = ?", (run_id,))
    if asked == "cancel" and status == "interrupted" and exit_code is not None:
        return "cancelled"
    return status


def _active_status(conn: sqlite3.Connection, run_id: str, verb: str) -> str:
    row = conn.execute("SELECT status FROM runs WHERE id = ?", (run_id,)).fetchone()
    if row is None:
        raise UsageError(f"no run {run_id!r} in the store", hint="'corral history' lists the runs")
    if row[0] not in _ACTIVE:
        raise UsageError(
            f"run {run_id} has already ended ({row[0]}): there is nothing to {verb}",
            hint=f"only a queued or running run can be asked; 'corral show {run_id}' shows it",
        )
    return str(row[0])


def _action(conn: sqlite3.Connection, run_id: str) -> str | None:
    row = conn.execute("SELECT action FROM run_control WHERE run_id = ?", (run_id,)).fetchone()
    return None if row is None else str(row[0])


def _ask(
    conn: sqlite3.Connection,
    run_id: str,
    action: str,
    now: float,
    by: str,
    grace: float | None,
) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO run_control (run_id, action, requested, requested_by, grace)"
        " VALUES (?, ?, ?, ?, ?)",
        (run_id, action, now, by, grace),
    )


def _record_event(conn: sqlite3.Connection, run_id: str, now: float, **fields: Any) -> None:
    """A ``control`` event (docs/events.md) of a run that has no process to emit it."""
    from corral.engine.events import EVENT_SCHEMA_VERSION

    event = {"v": EVENT_SCHEMA_VERSION, "event": "control", "run_id": run_id, "time": now}
    seq = conn.execute(
        "SELECT max(coalesce((SELECT max(seq) FROM events WHERE run_id = ?), -1),"
        " coalesce((SELECT max(event_seq) FROM units WHERE run_id = ?), -1)) + 1",
        (run_id, run_id),
    ).fetchone()[0]
    conn.execute(
        "INSERT INTO events (run_id, seq, time, kind, data) VALUES (?, ?, ?, 'control', ?)",
        (run_id, seq, now, json.dumps({**event, **fields}, ensure_ascii=False)),
    )


class ControlWatcher:
    """Reads a running run's ``run_control`` row and acts on it, in a daemon thread.

    ``grace`` is the run's ``--grace``, for a cancel that gives none. :meth:`close`
    stops the thread.
    """

    def __init__(
        self,
        environ: Mapping[str, str],
        run_id: str,
        control: StopControl,
        *,
        grace: float,
        every: float = POLL_EVERY,
    ) -> None:
        self.run_id = run_id
        self._environ = environ
        self._control = control
        self._grace = grace
        self._every = every
        self._cancelled = False  # a cancel was handed on: watch on only for --now
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._work, name=f"corral-control-{run_id}", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _work(self) -> None:
        from corral.store.db import open_store

        try:
            store = open_store(self._environ)  # sqlite3 connections stay in their thread
        except StoreError:
            return  # the run's store writer reports a store it cannot open
        try:
            while not self._stop.is_set():
                if self._check(store):
                    return
                self._stop.wait(self._every)
        finally:
            store.close()

    def _check(self, store: Store) -> bool:
        """Act on the row once; True when the run was aborted (nothing more to watch)."""
        try:
            asked = pending_control(store, self.run_id)
        except sqlite3.Error:
            return False  # a busy or briefly unreadable store: read again next time
        control = self._control
        if asked is None:
            control.unpause()
        elif asked.action == "pause":
            control.pause(asked.requested_by)
        elif asked.now:
            control.abort(asked.requested_by)
            return True
        elif not self._cancelled:
            self._cancelled = True
            control.cancel(self._grace if asked.grace is None else asked.grace, asked.requested_by)
        return False
