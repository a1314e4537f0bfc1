"""The run store's event sink: one thread per run batches events into SQLite.

The engine hands every event to :class:`StoreWriter` from its worker threads; the
call only puts the event on a queue, so a worker never waits for the disk. The
writer thread takes whatever has queued up, writes it in one transaction, and
commits. ``flush()`` (called by the engine at each barrier: after a task round, or
after each unit with the free strategy) returns once everything handed over before
it is committed, which is what makes a run killed with ``kill -9`` resumable: a unit
the run moved past is on disk.

Between events the thread refreshes the run's ``heartbeat`` (and its leases', see
:mod:`corral.store.leases`) every few seconds, so a run whose process died can be told
from one that is just slow.
"""

from __future__ import annotations

import json
import os
import queue
import socket
import sqlite3
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from corral.errors import EXIT_INVALID, EXIT_USAGE, StoreError
from corral.store.db import Store, finish_run_in, status_for_exit_code
from corral.store.leases import refresh_leases

__all__ = ["HEARTBEAT_EVERY", "StoreWriter"]

HEARTBEAT_EVERY = 5.0
_BATCH_WINDOW = 0.25  # seconds events may wait for a flush before being committed anyway
_WAKE_EVERY = 500  # events handed over between two wake-ups of the writer thread
_STOP = object()
_DUMPS = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode

_INSERT_EVENTS = """
    INSERT OR REPLACE INTO events (run_id, seq, time, kind, host, task_uid, data)
    VALUES (?, ?, ?, ?, ?, ?, ?)
"""
UNIT_COLUMNS = (
    "run_id, unit_id, event_seq, kind, time, play, task, task_uid, action, host, handler,"
    " item_index, status, changed, attempts, started, ended, duration, data"
)
# The event keys that are unit columns; the rest of a result event is the ``data`` JSON.
UNIT_EVENT_KEYS = frozenset(
    {"v", "event", "run_id", "time", "host", "task", "action", "uid", "unit_id", "handler"}
    | {"item_index", "status", "started", "ended", "attempts"}
)
_UNIT_VALUES = f"units ({UNIT_COLUMNS}) VALUES ({', '.join('?' * 19)})"
# A unit that ran replaces an earlier attempt, which is kept in unit_attempts.
_UPSERT_UNITS = "INSERT OR REPLACE INTO " + _UNIT_VALUES
_KEEP_ATTEMPT = (
    " ".join(  # fixed column names only
        ("INSERT OR IGNORE INTO unit_attempts (", UNIT_COLUMNS, ") SELECT", UNIT_COLUMNS)
    )
    + " FROM units WHERE run_id = ? AND unit_id = ?"
)
_UPSERT_HOST_STATE = """
    INSERT OR REPLACE INTO host_state (run_id, host, vars, facts, updated)
    VALUES (?, ?, ?, ?, ?)
"""
_INSERT_RUN = """
    INSERT OR IGNORE INTO runs
        (id, playbook, status, started, segment_started, heartbeat, pid, controller, check_mode)
    VALUES (?, ?, 'running', ?, ?, ?, ?, ?, ?)
"""


@dataclass
class _Batch:
    """One transaction's rows, by table."""

    events: list[tuple[Any, ...]] = field(default_factory=list)
    units: list[tuple[Any, ...]] = field(default_factory=list)
    hosts: list[tuple[str, str]] = field(default_factory=list)
    states: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    run_start: Mapping[str, Any] | None = None
    recap: Mapping[str, Any] | None = None


class _Flush:
    """A marker in the queue: set once everything before it is committed."""

    __slots__ = ("done",)

    def __init__(self) -> None:
        self.done = threading.Event()


class StoreWriter:
    """An event writer that records run ``run_id`` in ``store``.

    Callable with each event (already redacted, JSON-ready); ``flush()`` blocks until
    everything handed over so far is committed; ``close()`` flushes and stops the
    thread. If the store cannot be written, ``flush()`` and ``close()`` raise
    :class:`~corral.errors.StoreError`.
    """

    def __init__(
        self, store: Store, run_id: str, *, heartbeat_every: float = HEARTBEAT_EVERY
    ) -> None:
        self.run_id = run_id
        self._store = store
        self._heartbeat_every = heartbeat_every
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._error: BaseException | None = None
        self._reported = False
        self._closed = False
        self._finished = False  # the recap was written
        self._seq = 0
        self._plays: dict[str, str] = {}  # play uid -> name
        self._play_of: dict[str, str] = {}  # task uid -> play name
        self._item_counts: dict[tuple[str, str], int] = {}
        self._resumed = False  # units may exist from an earlier attempt of the run
        self._stopped_with: int | None = None  # close()'s exit code, for a run with no recap
        self._wake = threading.Event()
        self._handed = 0
        self._last_heartbeat = 0.0
        self._thread = threading.Thread(
            target=self._work, name=f"corral-store-{run_id}", daemon=True
        )
        self._thread.start()

    def __call__(self, event: Mapping[str, Any]) -> None:
        self._queue.put(event)
        self._handed += 1
        if self._handed % _WAKE_EVERY == 0:
            # Work through a long round in chunks, so that little is left when the
            # engine's flush waits for it.
            self._wake.set()

    def flush(self) -> None:
        """Block until every event handed over so far is committed."""
        if self._closed:
            return
        marker = _Flush()
        self._queue.put(marker)
        self._wake.set()
        while not marker.done.wait(0.2):
            if not self._thread.is_alive():
                break
        self._raise_error(always=True)

    def close(self, exit_code: int | None = None) -> None:
        """Flush, and stop the thread. A run that never reached its recap is recorded
        ``interrupted`` (resumable), or with ``exit_code``, the code it stopped with on an
        error: ``failed`` for bad input (a playbook error once started, exit 4), else
        ``interrupted``."""
        if self._closed:
            return
        self._closed = True
        self._stopped_with = exit_code
        self._queue.put(_STOP)
        self._wake.set()
        self._thread.join()
        self._raise_error(always=False)

    def _raise_error(self, *, always: bool) -> None:
        """Raise the writer's failure; ``close()`` does not repeat what ``flush()`` reported."""
        error = self._error
        if error is not None and (always or not self._reported):
            self._reported = True
            raise StoreError(
                f"the run store {self._store.path} could not be written: {error}",
                hint="free disk space or fix the file's permissions; "
                "CORRAL_STORE=off runs without the store",
            ) from error

    # -- the writer thread ----------------------------------------------------------

    def _work(self) -> None:
        try:
            store = self._store.reopen()
        except BaseException as exc:
            self._error = exc
            self._drain_markers()
            return
        try:
            row = store.conn.execute(
                "SELECT max(coalesce((SELECT max(seq) FROM events WHERE run_id = ?), -1),"
                " coalesce((SELECT max(event_seq) FROM units WHERE run_id = ?), -1)) + 1",
                (self.run_id, self.run_id),
            ).fetchone()
            self._seq = int(row[0])
            self._resumed = self._seq > 0
            self._loop(store)
        except BaseException as exc:
            self._error = exc
            self._drain_markers()
        finally:
            store.close()

    def _loop(self, store: Store) -> None:
        # The thread sleeps until a flush or close wakes it, every _WAKE_EVERY events,
        # or when the batch window passes: waiting on the queue itself would wake it for
        # every event, and each wake-up takes the GIL from the engine's workers. One
        # transaction per wake-up.
        pending: list[Mapping[str, Any]] = []
        while True:
            self._wake.wait(_BATCH_WINDOW)
            self._wake.clear()
            markers: list[_Flush] = []
            stop = False
            for entry in self._drain():
                if entry is _STOP:
                    stop = True
                elif isinstance(entry, _Flush):
                    markers.append(entry)
                else:
                    pending.append(entry)
            if self._commit(store, pending):
                pending = []
            for marker in markers:
                marker.done.set()
            if stop:
                if pending:
                    raise StoreError(f"{len(pending)} events of run {self.run_id} were not written")
                self._end(store)
                return

    def _drain(self) -> list[Any]:
        """Everything queued right now."""
        batch = []
        get = self._queue.get_nowait
        while True:
            try:
                batch.append(get())
            except queue.Empty:
                return batch

    def _commit(self, store: Store, events: list[Mapping[str, Any]]) -> bool:
        """Write ``events`` (and the heartbeat when due) in one transaction; False if it failed."""
        now = time.time()
        beat = now - self._last_heartbeat >= self._heartbeat_every
        if not events and not beat:
            return True
        seq = self._seq
        try:
            with store.transaction() as conn:
                finished = self._write(conn, events)
                if beat:
                    conn.execute(
                        "UPDATE runs SET heartbeat = ? WHERE id = ? AND status = 'running'",
                        (now, self.run_id),
                    )
                    refresh_leases(conn, self.run_id, now)
        except sqlite3.Error as exc:
            # Kept and retried with the next batch; flush() reports the failure meanwhile.
            self._seq = seq
            self._error = exc
            return False
        self._error = None
        self._finished = self._finished or finished
        if beat:
            self._last_heartbeat = now
        return True

    def _write(self, conn: sqlite3.Connection, events: list[Mapping[str, Any]]) -> bool:
        """Write ``events``; True when they included the recap (the run is finished)."""
        batch = self._sort(events)
        if batch.run_start is not None:
            self._record_start(conn, batch.run_start)
        conn.executemany(_INSERT_EVENTS, batch.events)
        if batch.units:
            if self._resumed:
                conn.executemany(_KEEP_ATTEMPT, [(self.run_id, row[1]) for row in batch.units])
            conn.executemany(_UPSERT_UNITS, batch.units)
        if batch.hosts:
            conn.executemany(
                "INSERT OR IGNORE INTO run_hosts (run_id, host) VALUES (?, ?)", batch.hosts
            )
        if batch.states:
            conn.executemany(
                _UPSERT_HOST_STATE,
                [
                    (
                        self.run_id,
                        host,
                        _DUMPS(e.get("vars") or {}),
                        _DUMPS(e.get("facts") or {}),
                        e.get("time") or time.time(),
                    )
                    for host, e in batch.states.items()
                ],
            )
        recap = batch.recap
        if recap is not None:
            exit_code = int(recap.get("exit_code") or 0)
            ended = float(recap.get("time") or time.time())
            status = status_for_exit_code(exit_code)
            finish_run_in(conn, self.run_id, status, exit_code, ended, recap.get("hosts") or {})
        return recap is not None

    def _sort(self, events: list[Mapping[str, Any]]) -> _Batch:
        """Number the events and turn them into the rows of each table."""
        batch = _Batch()
        for event in events:
            kind = event.get("event")
            if kind == "host_state":
                # Only the latest matters, and it lives in host_state, not in events.
                batch.states[str(event.get("host"))] = event
                continue
            seq = self._seq
            self._seq += 1
            if kind in {"task_result", "item_result"} and not event.get("resumed"):
                batch.units.append(self._unit_row(event, seq))
                continue
            # Other events, and units a resumed run only replayed (their row stays the
            # one of the run that really ran them), are kept as they are.
            when = event.get("time") or time.time()
            data = _DUMPS(event)
            batch.events.append(
                (self.run_id, seq, when, kind, event.get("host"), event.get("uid"), data)
            )
            if kind == "play_start":
                self._plays[str(event.get("uid"))] = str(event.get("play", ""))
                batch.hosts.extend((self.run_id, str(h)) for h in event.get("hosts") or ())
            elif kind == "run_start":
                batch.run_start = event
            elif kind == "recap":
                batch.recap = event
        return batch

    def _record_start(self, conn: sqlite3.Connection, event: Mapping[str, Any]) -> None:
        now = float(event.get("time") or time.time())
        # Normally begin_run (or resume_run) made the row; a bare writer still records the run.
        conn.execute(
            _INSERT_RUN,
            (
                self.run_id,
                str(event.get("playbook", "")),
                now,
                now,
                now,
                event.get("pid") or os.getpid(),
                socket.gethostname(),
                int(bool(event.get("check"))),
            ),
        )
        conn.execute(
            "UPDATE runs SET status = 'running', pid = ?, heartbeat = ? WHERE id = ?",
            (event.get("pid") or os.getpid(), now, self.run_id),
        )

    def _unit_row(self, event: Mapping[str, Any], seq: int) -> tuple[Any, ...]:
        """A ``units`` row: the event's fields as columns, the rest (``result``...) as JSON.

        Runs once per unit on the writer thread, so it is written for speed.
        """
        get = event.get
        uid = get("uid") or ""
        host = get("host") or ""
        kind = get("event")
        status = get("status") or ""
        item_index = get("item_index")
        if kind == "item_result" and item_index is None:
            # An engine without item_index: number the items as they come.
            key = (uid, host)
            item_index = self._item_counts.get(key, 0)
            self._item_counts[key] = item_index + 1
        unit_id = get("unit_id") or (
            f"{uid}#{host}" if item_index is None else f"{uid}#{host}/{item_index}"
        )
        started: Any = get("started")
        ended: Any = get("ended")
        try:
            duration = ended - started
        except TypeError:  # an engine that does not time units
            duration = None
        rest = {key: event[key] for key in event.keys() - UNIT_EVENT_KEYS}
        result = rest.get("result")
        changed = status == "changed" or (isinstance(result, dict) and bool(result.get("changed")))
        attempts = get("attempts")
        play = self._play_of.get(uid)
        if play is None:
            play = self._play_of[uid] = self._plays.get(uid.split("/", 1)[0], "")
        return (
            self.run_id,
            unit_id,
            seq,
            kind,
            get("time") or time.time(),
            play,
            get("task") or "",
            uid,
            get("action") or "",
            host,
            1 if get("handler") else 0,
            item_index,
            status,
            1 if changed else 0,
            1 if attempts is None else attempts,
            started,
            ended,
            duration,
            _DUMPS(rest),
        )

    def _end(self, store: Store) -> None:
        if not self._finished:
            # The engine stopped without a recap. Its input was wrong (a playbook error
            # once started): failed. Else (a broker that did not come back, an internal
            # error, a lost process): interrupted, to be resumed.
            code = self._stopped_with
            status = "failed" if code in (EXIT_INVALID, EXIT_USAGE) else "interrupted"
            with store.transaction() as conn:
                still = conn.execute(
                    "SELECT status FROM runs WHERE id = ?", (self.run_id,)
                ).fetchone()
                if still and still[0] == "running":
                    finish_run_in(conn, self.run_id, status, code, time.time(), None)
        from corral.store.retention import prune_when_due

        prune_when_due(store)

    def _drain_markers(self) -> None:
        """Release every flush() waiting on a thread that has stopped."""
        while True:
            try:
                entry = self._queue.get_nowait()
            except queue.Empty:
                return
            if isinstance(entry, _Flush):
                entry.done.set()
