"""A run that a worker elsewhere runs, mirrored into this machine's run store.

``corral serve`` with an executor that takes whole runs (``ExecutorType.run_queue``)
hands each queued run to a worker on another machine. The worker runs it as
``corral run --queued-run ID --output json`` against a run store of its own, and a
bridge beside it sends *up* what the server's store needs; the server sends *down*
what is asked of the run. The transport (a broker, a pipe) is the executor's; this
module is what the messages mean on each side.

Up (worker to server), each a mapping:

- ``{"events": [...]}``: the run's events, as its ``--output json`` wrote them; fed to
  a :class:`~corral.store.writer.StoreWriter` here, they make the same rows a local run
  makes (units, events, recap, status), so ``history``, ``show``, ``report`` and the
  web UI read it as any run;
- ``{"row": {...}, "blobs": [...]}``: the run's record once it started (argv, options,
  params, the playbook and inventory snapshots), from :func:`run_record`;
- ``{"approvals": [...]}``: its approval requests and how they stand
  (:func:`approval_states`), so ``corral approve`` here can answer them;
- ``{"beat": TIME}``: the worker is alive (every few seconds);
- ``{"output": TEXT}``: lines for the run's output file here (which worker took it; the
  run's error output when it ends);
- ``{"end": CODE, "output": TEXT}``: the run's process ended with exit code CODE.

Down (server to worker), one mapping that is replaced as things change (state, not
messages, so a lost or repeated one does no harm): ``{"control": ROW or None,
"answers": {KEY: {...}}}``: the run's cancel or pause (:mod:`corral.store.control`) and
the answers given to its approvals, applied to the worker's store by :func:`apply_down`.

Here the run's ``pid`` and ``controller`` are the server's own: the mirror is the
run's process on this machine, so a server that dies leaves the run ``interrupted``
(``corral resume`` runs it here) as a dead ``corral run`` would, unless a server
started again in time takes it over: the ``remote_runs`` table keeps which runs were
handed out (:func:`note_handed_out`), and :func:`adopt` makes one this process's again.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Mapping
from typing import Any

from corral.store.control import NOW
from corral.store.db import Store, finish_run_in
from corral.store.writer import StoreWriter

__all__ = [
    "RunMirror",
    "adopt",
    "apply_down",
    "approval_states",
    "forget_handed_out",
    "handed_out",
    "note_handed_out",
    "queue_here",
    "run_record",
]

# The columns of a run's row that describe it, copied from the worker's store. Status,
# pid, heartbeat and the roll-ups are this store's own (its writer keeps them).
RECORD_COLUMNS = (
    "playbook",
    "playbook_file",
    "playbook_hash",
    "inventory_hash",
    "started",
    "segment_started",
    "argv",
    "cwd",
    "params",
    "extra_vars",
    "options",
    "check_mode",
)
_APPROVAL_COLUMNS = ("key", "message", "requested", "timeout", "forbid_starter", "status")
_ANSWER_COLUMNS = ("status", "decided_by", "comment", "decided")


# -- the worker's side ----------------------------------------------------------------


def queue_here(store: Store, run_id: str, playbook: str, *, started_by: str, trigger: str) -> None:
    """Queue ``run_id`` in the worker's store, for ``corral run --queued-run`` to take."""
    with store.transaction() as conn:
        conn.execute(
            "INSERT OR IGNORE INTO runs (id, playbook, status, started, started_by, trigger)"
            " VALUES (?, ?, 'queued', ?, ?, ?)",
            (run_id, playbook, time.time(), started_by, trigger),
        )


def run_record(store: Store, run_id: str) -> dict[str, Any] | None:
    """The ``row`` message of a run that started (None while it is still queued)."""
    names = ", ".join(RECORD_COLUMNS)
    row = store.conn.execute(
        f"SELECT status, {names} FROM runs WHERE id = ?",  # noqa: S608 - fixed column names
        (run_id,),
    ).fetchone()
    if row is None or row[0] == "queued":
        return None
    record = dict(zip(RECORD_COLUMNS, row[1:], strict=True))
    hashes = (record["playbook_hash"], record["inventory_hash"])
    blobs = store.conn.execute(
        "SELECT hash, kind, data FROM blobs WHERE hash IN (?, ?)", hashes
    ).fetchall()
    return {"row": record, "blobs": [list(blob) for blob in blobs]}


def approval_states(store: Store, run_id: str) -> list[dict[str, Any]]:
    """The run's approval requests, each with its status (the ``approvals`` message)."""
    names = ", ".join(_APPROVAL_COLUMNS)
    rows = store.conn.execute(
        f"SELECT {names} FROM approvals WHERE run_id = ? ORDER BY id",  # noqa: S608
        (run_id,),
    ).fetchall()
    return [dict(zip(_APPROVAL_COLUMNS, row, strict=True)) for row in rows]


def apply_down(store: Store, run_id: str, down: Mapping[str, Any]) -> None:
    """Make the worker's store say what the server's says of the run (see the module)."""
    control = down.get("control")
    answers = down.get("answers") or {}
    with store.transaction() as conn:
        if control:
            conn.execute(
                "INSERT OR REPLACE INTO run_control"
                " (run_id, action, requested, requested_by, grace) VALUES (?, ?, ?, ?, ?)",
                (
                    run_id,
                    control["action"],
                    control["requested"],
                    control["requested_by"],
                    control["grace"],
                ),
            )
        else:
            conn.execute("DELETE FROM run_control WHERE run_id = ?", (run_id,))
        for key, answer in answers.items():
            conn.execute(
                "UPDATE approvals SET status = ?, decided_by = ?, comment = ?, decided = ?"
                " WHERE run_id = ? AND key = ? AND status = 'pending'",
                (*(answer[name] for name in _ANSWER_COLUMNS), run_id, key),
            )


# -- the server's side ----------------------------------------------------------------


def note_handed_out(store: Store, run_id: str, executor: str, queue: str, task: str) -> None:
    """Note that ``run_id`` went to ``executor``'s workers on ``queue`` (as ``task``)."""
    with store.transaction() as conn:
        conn.execute(
            "INSERT OR REPLACE INTO remote_runs (run_id, executor, queue, task, sent)"
            " VALUES (?, ?, ?, ?, ?)",
            (run_id, executor, queue, task, time.time()),
        )


def forget_handed_out(store: Store, run_id: str) -> None:
    with store.transaction() as conn:
        conn.execute("DELETE FROM remote_runs WHERE run_id = ?", (run_id,))


def handed_out(store: Store, executor: str) -> list[dict[str, Any]]:
    """The runs handed to ``executor``'s workers that are still queued or running."""
    rows = store.conn.execute(
        "SELECT h.run_id, h.queue, h.task FROM remote_runs h JOIN runs r ON r.id = h.run_id"
        " WHERE h.executor = ? AND r.status IN ('queued', 'running') ORDER BY h.sent",
        (executor,),
    ).fetchall()
    return [dict(zip(("run_id", "queue", "task"), row, strict=True)) for row in rows]


def adopt(store: Store, run_id: str) -> None:
    """Make ``run_id`` this process's: its row and its leases, held by a server that died."""
    now, here = time.time(), socket.gethostname()
    with store.transaction() as conn:
        conn.execute(
            "UPDATE runs SET pid = ?, controller = ?, heartbeat = ?"
            " WHERE id = ? AND status = 'running'",
            (os.getpid(), here, now, run_id),
        )
        conn.execute(
            "UPDATE leases SET pid = ?, controller = ?, heartbeat = ? WHERE run_id = ?",
            (os.getpid(), here, now, run_id),
        )


class RunMirror:
    """Records in this machine's store what a worker sends up of run ``run_id``.

    Use it from one thread: :meth:`apply` each message as it comes, :meth:`down` for
    what to send down, :meth:`close` when the run ended or its worker is lost (a run
    that never reached its recap is then ``interrupted``, resumable here).
    """

    def __init__(self, store: Store, run_id: str) -> None:
        self.run_id = run_id
        self.store = store
        self.code: int | None = None
        self.output = ""
        self._writer: StoreWriter | None = None
        # Approval keys the worker has asked (those of a run a server before this one
        # followed too: their answers must still go down).
        self._asked = {
            str(key)
            for (key,) in store.conn.execute(
                "SELECT key FROM approvals WHERE run_id = ?", (run_id,)
            ).fetchall()
        }

    def apply(self, message: Mapping[str, Any]) -> None:
        if "row" in message:
            self._record(message["row"], message.get("blobs") or [])
        if "events" in message:
            self._events(message["events"])
        if "approvals" in message:
            self._approvals(message["approvals"])
        if "output" in message:
            self.output += str(message["output"])
        if "end" in message:
            self.code = int(message["end"])

    def down(self) -> dict[str, Any]:
        """The run's control row and the answers given here to its approvals."""
        conn = self.store.conn
        row = conn.execute(
            "SELECT action, requested, requested_by, grace FROM run_control WHERE run_id = ?",
            (self.run_id,),
        ).fetchone()
        names = ("action", "requested", "requested_by", "grace")
        control = dict(zip(names, row, strict=True)) if row else None
        if not row and self.status() == "cancelled":
            # Cancelled while still queued (corral cancel marks it so at once): never start.
            control = {"action": "cancel", "requested": 0.0, "requested_by": "", "grace": NOW}
        answers: dict[str, Any] = {}
        if self._asked:
            columns = ", ".join(_ANSWER_COLUMNS)
            for key, *answer in conn.execute(
                f"SELECT key, {columns} FROM approvals"  # noqa: S608 - fixed column names
                " WHERE run_id = ? AND status != 'pending'",
                (self.run_id,),
            ).fetchall():
                if key in self._asked:
                    answers[key] = dict(zip(_ANSWER_COLUMNS, answer, strict=True))
        return {"control": control, "answers": answers}

    def status(self) -> str | None:
        row = self.store.conn.execute(
            "SELECT status FROM runs WHERE id = ?", (self.run_id,)
        ).fetchone()
        return None if row is None else str(row[0])

    def close(self) -> None:
        """Commit what came. A run that started and has no recap ends as the writer
        records a process that stopped with the ``end`` message's exit code (failed on
        bad input, else interrupted), or ``interrupted`` without one."""
        if self._writer is not None:
            writer, self._writer = self._writer, None
            writer.close(self.code)

    def lost(self, why: str) -> None:
        """The worker stopped answering: the run is ``interrupted`` (resumable here)."""
        self.close()
        with self.store.transaction() as conn:
            still = conn.execute("SELECT status FROM runs WHERE id = ?", (self.run_id,)).fetchone()
            if still and still[0] in ("queued", "running"):
                finish_run_in(conn, self.run_id, "interrupted", None, time.time(), None)
        self.output += why

    # -- up ---------------------------------------------------------------------------

    def _events(self, events: list[Mapping[str, Any]]) -> None:
        if self._writer is None:
            self._writer = StoreWriter(self.store, self.run_id)
        for event in events:
            # This process stands for the run here (see the module docstring).
            starts = event.get("event") == "run_start"
            self._writer({**event, "pid": os.getpid()} if starts else event)

    def _record(self, record: Mapping[str, Any], blobs: list[list[Any]]) -> None:
        columns = [name for name in RECORD_COLUMNS if name in record]
        updates = ", ".join(f"{name} = ?" for name in columns)
        with self.store.transaction() as conn:
            conn.executemany("INSERT OR IGNORE INTO blobs VALUES (?, ?, ?)", blobs)
            conn.execute(
                f"UPDATE runs SET {updates}, controller = ? WHERE id = ?",  # noqa: S608
                (*(record[name] for name in columns), socket.gethostname(), self.run_id),
            )

    def _approvals(self, states: list[Mapping[str, Any]]) -> None:
        with self.store.transaction() as conn:
            for state in states:
                key = str(state["key"])
                self._asked.add(key)
                found = conn.execute(
                    "SELECT id, status FROM approvals WHERE run_id = ? AND key = ?"
                    " ORDER BY id DESC LIMIT 1",
                    (self.run_id, key),
                ).fetchone()
                if found is None:
                    conn.execute(
                        "INSERT INTO approvals"
                        " (run_id, key, message, requested, timeout, forbid_starter, status)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (self.run_id, *(state[name] for name in _APPROVAL_COLUMNS)),
                    )
                elif found[1] == "pending" and state["status"] != "pending":
                    # Settled on the worker (its timeout): say so here too.
                    conn.execute(
                        "UPDATE approvals SET status = ?, decided = ? WHERE id = ?",
                        (state["status"], time.time(), found[0]),
                    )
