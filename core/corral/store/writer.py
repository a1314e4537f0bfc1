"""The run store's event sink: one thread per run batches events into SQLite.

The engine hands every event to :class:`StoreWriter` from its worker threads; the
call only puts the event on a queue, so a worker never waits for the disk. The
writer thread takes whatever has queued up, writes it in one transaction, and
commits. ``flush()`` (called by the engine at each barrier: after a task round, or
after each unit with the free strategy) returns once everything handed over before
it is committed, which is what makes a run killed with ``kill -9`` resumable: a unit
the run moved past is on disk.

Between events the thread refreshes the run's ``heartbeat`` every few seconds, so a
run whose process died can be told from one that is just slow.
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
from typing import Any

from corral.store.db import Store, StoreError, finish_run_in, status_for_exit_code

__all__ = ["HEARTBEAT_EVERY", "StoreWriter"]

HEARTBEAT_EVERY = 5.0
_MAX_BATCH = 20_000
_BATCH_WINDOW = 0.25  # seconds events may wait for a flush before being committed anyway
_STOP = object()

_INSERT_EVENTS = """
    INSERT OR REPLACE INTO events (run_id, seq, time, kind, host, task_uid, data)
    VALUES (?, ?, ?, ?, ?, ?, ?)
"""
_UNIT_COLUMNS = """
    units (run_id, unit_id, play, task, task_uid, action, host, handler, item_index, item,
        status, changed, attempts, started, ended, duration, event_seq)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
# A unit that ran replaces an earlier attempt; a unit a resumed run only replayed keeps
# the row (times, result) of the run that really ran it.
_UPSERT_UNITS = "INSERT OR REPLACE INTO" + _UNIT_COLUMNS
_REPLAYED_UNITS = "INSERT OR IGNORE INTO" + _UNIT_COLUMNS
_UPSERT_HOST_STATE = """
    INSERT OR REPLACE INTO host_state (run_id, host, vars, facts, updated)
    VALUES (?, ?, ?, ?, ?)
"""
_INSERT_RUN = """
    INSERT OR IGNORE INTO runs
        (id, playbook, status, started, segment_started, heartbeat, pid, controller, check_mode)
    VALUES (?, ?, 'running', ?, ?, ?, ?, ?, ?)
"""


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
    :class:`~corral.store.db.StoreError`.
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
        self._item_counts: dict[tuple[str, str], int] = {}
        self._last_heartbeat = 0.0
        self._thread = threading.Thread(
            target=self._work, name=f"corral-store-{run_id}", daemon=True
        )
        self._thread.start()

    def __call__(self, event: Mapping[str, Any]) -> None:
        self._queue.put(event)

    def flush(self) -> None:
        """Block until every event handed over so far is committed."""
        if self._closed:
            return
        marker = _Flush()
        self._queue.put(marker)
        while not marker.done.wait(0.2):
            if not self._thread.is_alive():
                break
        self._raise_error(always=True)

    def close(self) -> None:
        """Flush, record the run as interrupted if it never reached its recap, stop the thread."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)
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
                "SELECT coalesce(max(seq), -1) + 1 FROM events WHERE run_id = ?", (self.run_id,)
            ).fetchone()
            self._seq = int(row[0])
            self._loop(store)
        except BaseException as exc:
            self._error = exc
            self._drain_markers()
        finally:
            store.close()

    def _loop(self, store: Store) -> None:
        pending: list[Mapping[str, Any]] = []
        while True:
            try:
                item = self._queue.get(timeout=self._heartbeat_every)
            except queue.Empty:
                self._commit(store, pending)
                continue
            markers: list[_Flush] = []
            stop = False
            for entry in self._take(item):
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

    def _take(self, first: Any) -> list[Any]:
        """``first`` and what follows, up to a flush, a stop, a full batch or the batch window.

        Committing as soon as the queue is momentarily empty would mean a transaction
        per event while units trickle in; waiting for the next barrier (flush) instead
        makes one transaction per task round, and durability is what flush promises.
        """
        batch = [first]
        deadline = time.monotonic() + _BATCH_WINDOW
        entry = first
        while len(batch) < _MAX_BATCH and entry is not _STOP and not isinstance(entry, _Flush):
            remaining = deadline - time.monotonic()
            try:
                entry = (
                    self._queue.get(timeout=remaining)
                    if remaining > 0
                    else self._queue.get_nowait()
                )
            except queue.Empty:
                break
            batch.append(entry)
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
        event_rows: list[tuple[Any, ...]] = []
        unit_rows: list[tuple[Any, ...]] = []
        replayed_rows: list[tuple[Any, ...]] = []
        host_rows: list[tuple[str, str]] = []
        states: dict[str, Mapping[str, Any]] = {}
        run_start: Mapping[str, Any] | None = None
        recap: Mapping[str, Any] | None = None
        dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode
        for event in events:
            kind = event.get("event")
            if kind == "host_state":
                # Only the latest matters, and it lives in host_state, not in events.
                states[str(event.get("host"))] = event
                continue
            seq = self._seq
            self._seq += 1
            event_rows.append(
                (
                    self.run_id,
                    seq,
                    event.get("time") or time.time(),
                    kind,
                    event.get("host"),
                    event.get("uid"),
                    dumps(event),
                )
            )
            if kind in {"task_result", "item_result"}:
                rows = replayed_rows if event.get("resumed") else unit_rows
                rows.append(self._unit_row(event, seq))
            elif kind == "play_start":
                self._plays[str(event.get("uid"))] = str(event.get("play", ""))
                host_rows.extend((self.run_id, str(host)) for host in event.get("hosts") or ())
            elif kind == "run_start":
                run_start = event
            elif kind == "recap":
                recap = event
        if run_start is not None:
            self._record_start(conn, run_start)
        conn.executemany(_INSERT_EVENTS, event_rows)
        if unit_rows:
            conn.executemany(_UPSERT_UNITS, unit_rows)
        if replayed_rows:
            conn.executemany(_REPLAYED_UNITS, replayed_rows)
        if host_rows:
            conn.executemany(
                "INSERT OR IGNORE INTO run_hosts (run_id, host) VALUES (?, ?)", host_rows
            )
        if states:
            conn.executemany(
                _UPSERT_HOST_STATE,
                [
                    (
                        self.run_id,
                        host,
                        dumps(e.get("vars") or {}),
                        dumps(e.get("facts") or {}),
                        e.get("time") or time.time(),
                    )
                    for host, e in states.items()
                ],
            )
        if recap is not None:
            exit_code = int(recap.get("exit_code") or 0)
            ended = float(recap.get("time") or time.time())
            finish_run_in(
                conn,
                self.run_id,
                status_for_exit_code(exit_code),
                exit_code,
                ended,
                recap.get("hosts") or {},
            )
        return recap is not None

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
        uid = str(event.get("uid") or "")
        host = str(event.get("host") or "")
        result = event.get("result")
        result = result if isinstance(result, Mapping) else {}
        status = str(event.get("status") or "")
        item_index: int | None = None
        item: str | None = None
        if event.get("event") == "item_result":
            item_index = event.get("item_index")
            if item_index is None:
                # An engine without item_index: number the items as they come.
                key = (uid, host)
                item_index = self._item_counts.get(key, 0)
                self._item_counts[key] = item_index + 1
            item = json.dumps(event.get("item"), default=str)
        unit_id = event.get("unit_id") or (
            f"{uid}#{host}" if item_index is None else f"{uid}#{host}/{item_index}"
        )
        started = event.get("started")
        ended = event.get("ended")
        duration = (
            ended - started
            if isinstance(started, int | float) and isinstance(ended, int | float)
            else None
        )
        return (
            self.run_id,
            unit_id,
            self._plays.get(uid.split("/", 1)[0], ""),
            str(event.get("task") or ""),
            uid,
            str(event.get("action") or ""),
            host,
            int(bool(event.get("handler"))),
            item_index,
            item,
            status,
            int(bool(result.get("changed")) or status == "changed"),
            int(event.get("attempts") or result.get("attempts") or 1),
            started,
            ended,
            duration,
            seq,
        )

    def _end(self, store: Store) -> None:
        if not self._finished:
            # The engine stopped without a recap (an internal error): resumable, so interrupted.
            with store.transaction() as conn:
                still = conn.execute(
                    "SELECT status FROM runs WHERE id = ?", (self.run_id,)
                ).fetchone()
                if still and still[0] == "running":
                    finish_run_in(conn, self.run_id, "interrupted", None, time.time(), None)
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
