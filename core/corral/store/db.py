"""Opening the run store, and the writes that are not events: begin, resume, finish a run.

The store is one SQLite file, ``$CORRAL_HOME/corral.db`` (``corral_home`` in
:mod:`corral.paths`), in WAL mode so readers (``corral history``) never wait for a
writer and concurrent runs only queue for the short write transactions. Every
connection waits up to :data:`BUSY_TIMEOUT` seconds for a lock instead of failing.

Each thread uses its own :class:`Store` (``sqlite3`` connections are not shared
between threads): the run writer opens one in its thread with :meth:`Store.reopen`.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import socket
import sqlite3
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from corral.errors import StoreError, UsageError
from corral.paths import (
    corral_home,
    create_private_file,
    make_private,
    private_home,
    warn_made_private,
)
from corral.store.control import final_status
from corral.store.records import RunRecord
from corral.store.schema import migrate

if TYPE_CHECKING:
    import sqlite_utils

__all__ = [
    "BUSY_TIMEOUT",
    "DB_NAME",
    "STALE_AFTER",
    "Store",
    "open_store",
    "status_for_exit_code",
    "store_enabled",
    "store_path",
]

DB_NAME = "corral.db"
BUSY_TIMEOUT = 30.0  # seconds a connection waits for another's write lock
STALE_AFTER = 30.0  # a running run whose heartbeat is older than this is dead
STATUSES = ("queued", "running", "succeeded", "failed", "cancelled", "interrupted")
_OFF = ("off", "0", "false", "no", "disabled")


def store_enabled(environ: Mapping[str, str]) -> bool:
    """False when ``CORRAL_STORE`` is ``off`` (or ``0``, ``false``, ``no``)."""
    return environ.get("CORRAL_STORE", "").strip().lower() not in _OFF


def store_path(environ: Mapping[str, str]) -> Path:
    """Where the store lives: ``$CORRAL_HOME/corral.db``."""
    return corral_home(environ) / DB_NAME


def open_store(environ: Mapping[str, str]) -> Store:
    """Open (creating and migrating if needed) the store for ``environ``."""
    from corral.store.retention import retention_from_env

    return Store(store_path(environ), retention=retention_from_env(environ))


def status_for_exit_code(exit_code: int) -> str:
    """A run's final status from its exit code: 0 succeeded, 99 interrupted, else failed."""
    if exit_code == 0:
        return "succeeded"
    if exit_code == 99:
        return "interrupted"
    return "failed"


def _connect(path: Path) -> sqlite3.Connection:
    try:
        _make_store_private(path)
        new = not path.exists() or path.stat().st_size == 0
        # isolation_level=None: no implicit transactions; every write transaction here
        # is an explicit BEGIN IMMEDIATE, so lock waits happen up front, under the timeout.
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT, isolation_level=None)
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT * 1000)}")
        if new:
            # Only possible before the first table exists: lets prune give space back.
            try:
                conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc):
                    raise
                # Another process is creating the store right now, and sets it.
    except (OSError, sqlite3.Error) as exc:
        raise StoreError(
            f"cannot open the run store {path}: {exc}",
            hint="set CORRAL_HOME to a writable directory, "
            "or CORRAL_STORE=off to run without the store",
        ) from exc
    return conn


def _make_store_private(path: Path) -> None:
    """Create the store's directory 0700 and its file 0600; repair an existing store's modes.

    The directory is ``CORRAL_HOME``, so its crash tracebacks are repaired here too.

    SQLite creates the database file 0644 and gives ``-wal``, ``-shm`` and ``-journal``
    the database file's own mode, so creating the file 0600 before SQLite opens it keeps
    all of them private without touching the process umask (which other threads share).
    Modes loosened by an older corral are fixed here, with one warning line.
    """
    changes = private_home(path.parent)
    with contextlib.suppress(FileExistsError):
        os.close(create_private_file(path))
    siblings = [path.with_name(path.name + suffix) for suffix in _SQLITE_SIDE_FILES]
    changes += make_private([path, *siblings])
    warn_made_private(f"the run store in {path.parent}", changes)


_SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def _use_wal(conn: sqlite3.Connection) -> None:
    """Put the store in WAL mode (a no-op once it is). Switching fails at once with
    "database is locked", without the busy timeout's wait,
    while another process holds a lock on a store it is creating (``corral run`` and a
    ``corral logs --follow`` started together): retried until :data:`BUSY_TIMEOUT`.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT
    while True:
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


class Store:
    """One connection to the run store; use it from the thread that made it."""

    def __init__(self, path: Path, *, retention: float | None = None) -> None:
        self.path = Path(path)
        self.retention = retention
        self.conn = _connect(self.path)
        try:
            _use_wal(self.conn)
            # WAL + NORMAL: a commit survives the process being killed (kill -9, OOM);
            # only an OS crash or power loss can lose the last transactions.
            self.conn.execute("PRAGMA synchronous = NORMAL")
            migrate(self.conn)
        except RuntimeError as exc:
            self.conn.close()
            raise StoreError(
                f"the run store {self.path} was written by a newer corral: {exc}",
                hint="upgrade corral, or point CORRAL_HOME somewhere else",
            ) from exc
        except sqlite3.DatabaseError as exc:
            self.conn.close()
            raise StoreError(
                f"the run store {self.path} cannot be used: {exc}",
                hint="move the file away to start a new store",
            ) from exc

    @functools.cached_property
    def db(self) -> sqlite_utils.Database:
        """The connection as a :class:`sqlite_utils.Database`, made on first use.

        Made lazily because importing sqlite-utils costs tens of milliseconds that
        ``corral run`` and the store writer, which only execute prepared SQL, need not pay.
        """
        import sqlite_utils

        return sqlite_utils.Database(self.conn, execute_plugins=False)

    def reopen(self) -> Store:
        """A new connection to the same store, for another thread."""
        return Store(self.path, retention=self.retention)

    def close(self) -> None:
        self.conn.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: ``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back on error."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # -- runs -------------------------------------------------------------------

    def begin_run(self, record: RunRecord, *, queued: bool = False) -> None:
        """Record a run about to start, as ``running``, with its snapshot.

        With ``queued``, the run's row exists already, ``queued`` by ``corral serve``:
        it becomes this run's (:class:`~corral.errors.UsageError` when it is no longer
        queued: cancelled, or started by another worker).
        """
        snapshot = json.dumps(dict(record.snapshot), ensure_ascii=False, sort_keys=True)
        inventory = json.dumps(record.inventory, ensure_ascii=False, sort_keys=True)
        inventory_hash = _sha256(inventory)
        row = {
            "id": record.run_id,
            "playbook": record.playbook,
            "playbook_file": record.playbook_file,
            "playbook_hash": record.playbook_hash,
            "inventory_hash": inventory_hash,
            "status": "running",
            "started": record.started,
            "segment_started": record.started,
            "heartbeat": time.time(),
            "pid": record.pid,
            "controller": record.controller,
            "started_by": record.started_by,
            "trigger": record.trigger,
            "argv": json.dumps(list(record.argv)),
            "cwd": record.cwd,
            "params": json.dumps(record.params, sort_keys=True),
            "extra_vars": json.dumps(record.extra_vars, sort_keys=True),
            "options": json.dumps(record.options, sort_keys=True),
            "check_mode": int(bool(record.options.get("check"))),
        }
        columns = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        with self.transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO blobs (hash, kind, data) VALUES (?, 'snapshot', ?)",
                (record.playbook_hash, snapshot),
            )
            conn.execute(
                "INSERT OR IGNORE INTO blobs (hash, kind, data) VALUES (?, 'inventory', ?)",
                (inventory_hash, inventory),
            )
            if not queued:
                conn.execute(f"INSERT INTO runs ({columns}) VALUES ({marks})", tuple(row.values()))  # noqa: S608 - fixed column names
                return
            # The server queued this run (its row names the trigger and who started it):
            # take the row over, unless it was cancelled or started meanwhile.
            kept = ("id", "trigger", "started_by")
            updates = ", ".join(f"{name} = ?" for name in row if name not in kept)
            values = [value for name, value in row.items() if name not in kept]
            updated = conn.execute(
                f"UPDATE runs SET {updates} WHERE id = ? AND status = 'queued'",  # noqa: S608 - fixed column names
                (*values, record.run_id),
            ).rowcount
            if updated != 1:
                found = conn.execute(
                    "SELECT status FROM runs WHERE id = ?", (record.run_id,)
                ).fetchone()
                status = found[0] if found else "not in the store"
                raise UsageError(
                    f"queued run {record.run_id} cannot start: it is {status}",
                    hint="corral serve starts queued runs; see corral show " + record.run_id,
                )

    def resume_run(self, run_id: str, *, pid: int, claimed: bool = False) -> None:
        """Mark ``run_id`` running again, in process ``pid``, for ``corral resume``.

        With ``claimed``, the run must be held by ``pid`` on this host, as
        :func:`corral.store.lease.claim_run` left it; without, it is claimed here, and
        must not be running or succeeded. Either way the check and the update are one
        conditional ``UPDATE`` in one transaction; raises
        :class:`~corral.errors.UsageError` naming the holder when it fails. The run keeps
        its record (argv, options, snapshot) as first started.
        """
        from corral.store.lease import not_resumable

        now = time.time()
        here = socket.gethostname()
        sql, args = (_RESUME_HELD, (pid, here)) if claimed else (_RESUME_FREE, ())
        with self.transaction() as conn:
            updated = conn.execute(sql, (pid, here, now, now, run_id, *args)).rowcount
            if updated != 1:
                raise not_resumable(conn, run_id)
            # Roll-ups are rewritten when the resumed run ends (hosts it does not run, as
            # with --failed-only, keep their counts); meanwhile history counts units.
            conn.execute(
                "UPDATE runs SET host_count = NULL, failed_hosts = NULL WHERE id = ?", (run_id,)
            )
            for table in ("run_tasks", "run_hosts"):
                conn.execute(_COPY_RUN.format(table=table), (run_id, run_id))

    def finish_run(
        self,
        run_id: str,
        status: str,
        exit_code: int | None,
        ended: float,
        recap: Mapping[str, Any] | None = None,
    ) -> None:
        """Record how a run ended and write its roll-ups (per host and per task)."""
        with self.transaction() as conn:
            finish_run_in(conn, run_id, status, exit_code, ended, recap)

    def heartbeat(self, run_id: str, now: float | None = None) -> None:
        with self.transaction() as conn:
            conn.execute(
                "UPDATE runs SET heartbeat = ? WHERE id = ? AND status = 'running'",
                (now or time.time(), run_id),
            )

    def run_row(self, run_id: str) -> dict[str, Any] | None:
        """The ``runs`` row of ``run_id``, or None."""
        rows = list(self.db.query("SELECT * FROM runs WHERE id = ?", [run_id]))
        return rows[0] if rows else None

    def resolve_run(self, ref: str) -> dict[str, Any]:
        """The run named by ``ref``: a full id, a unique prefix, or ``last``.

        Raises :class:`~corral.errors.UsageError` when no run, or more than one, matches.
        """
        self.refresh_liveness()
        if ref in ("last", "latest", "-1"):
            rows = list(self.db.query("SELECT * FROM runs ORDER BY started DESC, id DESC LIMIT 1"))
            if not rows:
                raise UsageError("no runs are recorded yet", hint=f"the store is {self.path}")
            return rows[0]
        exact = self.run_row(ref)
        if exact is not None:
            return exact
        escaped = ref.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = list(
            self.db.query(
                "SELECT * FROM runs WHERE id LIKE ? ESCAPE '\\' ORDER BY started DESC LIMIT 6",
                [escaped + "%"],
            )
        )
        if len(rows) == 1:
            return rows[0]
        if not rows:
            raise UsageError(f"no run {ref!r} in the store", hint="'corral history' lists the runs")
        shown = ", ".join(r["id"] for r in rows[:5])
        raise UsageError(
            f"{ref!r} matches more than one run ({shown}...)", hint="give more of the run id"
        )

    def blob(self, digest: str) -> Any:
        """A stored snapshot or inventory, parsed, by its hash."""
        row = self.conn.execute("SELECT data FROM blobs WHERE hash = ?", (digest,)).fetchone()
        return json.loads(row[0]) if row else None

    def refresh_liveness(self, now: float | None = None) -> list[str]:
        """Mark ``interrupted`` the ``running`` runs whose process is gone; returns their ids.

        A run is gone when its pid is not alive on this machine, or when its heartbeat
        (written every few seconds by its store writer) is older than :data:`STALE_AFTER`.
        """
        now = time.time() if now is None else now
        here = socket.gethostname()
        dead = []
        for run_id, pid, controller, heartbeat, started in self.conn.execute(
            "SELECT id, pid, controller, heartbeat, started FROM runs WHERE status = 'running'"
        ).fetchall():
            last = max(heartbeat or 0.0, started, self._last_event_time(run_id))
            if (controller == here and pid and not pid_alive(int(pid))) or last < now - STALE_AFTER:
                dead.append((run_id, last))
        for run_id, last in dead:
            with self.transaction() as conn:
                # Checked again inside the transaction: the run may have finished meanwhile.
                still = conn.execute("SELECT status FROM runs WHERE id = ?", (run_id,)).fetchone()
                if still and still[0] == "running":
                    finish_run_in(conn, run_id, "interrupted", None, last, None)
        return [run_id for run_id, _ in dead]

    def _last_event_time(self, run_id: str) -> float:
        row = self.conn.execute(
            "SELECT max(coalesce((SELECT max(time) FROM events WHERE run_id = ?), 0),"
            " coalesce((SELECT max(time) FROM units WHERE run_id = ?), 0))",
            (run_id, run_id),
        ).fetchone()
        return float(row[0])


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this machine and is not a zombie."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def finish_run_in(
    conn: sqlite3.Connection,
    run_id: str,
    status: str,
    exit_code: int | None,
    ended: float,
    recap: Mapping[str, Any] | None,
) -> None:
    """:meth:`Store.finish_run` inside the caller's transaction."""
    if status not in STATUSES:
        raise ValueError(f"unknown run status {status!r}")
    status = final_status(conn, run_id, status, exit_code)  # cancelled from another process?
    conn.execute(
        "UPDATE runs SET status = ?, exit_code = ?, ended = ?,"
        " duration = duration + max(0, ? - coalesce(segment_started, started)) WHERE id = ?",
        (status, exit_code, ended, ended, run_id),
    )
    # A run that ended holds no host or lock any more (corral.store.leases).
    conn.execute("DELETE FROM leases WHERE run_id = ?", (run_id,))
    write_rollups(conn, run_id, recap)


_RESUME = """
    UPDATE runs SET status = 'running', pid = ?, controller = ?, heartbeat = ?,
        segment_started = ?, ended = NULL, exit_code = NULL, resumes = resumes + 1
    WHERE id = ? AND """
_RESUME_HELD = _RESUME + "status = 'running' AND pid = ? AND controller = ?"
_RESUME_FREE = _RESUME + "status NOT IN ('running', 'succeeded')"
_ROLLUP_TASKS = """
    INSERT INTO run_tasks
        (run_id, task_uid, play, task, action, units, total_duration, max_duration, failures)
    SELECT run_id, task_uid, max(play), max(task), max(action), count(*), total(duration),
        max(coalesce(duration, 0)), sum(status IN ('failed', 'unreachable'))
    FROM units WHERE run_id = ? AND item_index IS NULL GROUP BY task_uid
"""
_COPY_RUN = """
    UPDATE {table} SET (playbook, status, started) =
        (SELECT playbook, status, started FROM runs WHERE id = ?)
    WHERE run_id = ?
"""
_HOSTS_FROM_RECAP = """
    INSERT OR REPLACE INTO run_hosts (run_id, host, ok, changed, unreachable, failed, skipped,
        rescued, ignored, playbook, status, started)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
_HOSTS_FROM_UNITS = """
    INSERT OR REPLACE INTO run_hosts
        (run_id, host, ok, changed, unreachable, failed, skipped, rescued, ignored)
    SELECT ?, h.host, coalesce(c.ok, 0), coalesce(c.changed, 0), coalesce(c.unreachable, 0),
        coalesce(c.failed, 0), coalesce(c.skipped, 0), 0, coalesce(c.ignored, 0)
    FROM run_hosts h LEFT JOIN (
        SELECT host, sum(status IN ('ok', 'changed')) AS ok, sum(status = 'changed') AS changed,
            sum(status = 'unreachable') AS unreachable, sum(status = 'failed') AS failed,
            sum(status = 'skipped') AS skipped, sum(status = 'ignored') AS ignored
        FROM units WHERE run_id = ? AND item_index IS NULL GROUP BY host
    ) c ON c.host = h.host
    WHERE h.run_id = ?
"""
_HOST_COUNTS = """
    UPDATE runs SET
        host_count = (SELECT count(*) FROM run_hosts WHERE run_id = ?),
        failed_hosts = (SELECT count(*) FROM run_hosts
                        WHERE run_id = ? AND (failed > 0 OR unreachable > 0))
    WHERE id = ?
"""
_RECAP_KEYS = ("ok", "changed", "unreachable", "failed", "skipped", "rescued", "ignored")


def write_rollups(conn: sqlite3.Connection, run_id: str, recap: Mapping[str, Any] | None) -> None:
    """Per-task and per-host summaries of a run, from its units (and its recap when it has one)."""
    conn.execute("DELETE FROM run_tasks WHERE run_id = ?", (run_id,))
    conn.execute(_ROLLUP_TASKS, (run_id,))
    tables = ["run_tasks"]
    if recap:
        # The run's columns go in with each row: updating them afterwards rewrites the
        # host index once more per host (a tenth of a second on 10,000 hosts).
        run = conn.execute(
            "SELECT playbook, status, started FROM runs WHERE id = ?", (run_id,)
        ).fetchone() or ("", "running", 0)
        rows = [
            (run_id, host, *(int(counts.get(key, 0)) for key in _RECAP_KEYS), *run)
            for host, counts in recap.items()
        ]
        conn.executemany(_HOSTS_FROM_RECAP, rows)
    else:
        # No recap (the process died): count the units that finished.
        conn.execute(_HOSTS_FROM_UNITS, (run_id, run_id, run_id))
        tables.append("run_hosts")
    conn.execute(_HOST_COUNTS, (run_id, run_id, run_id))
    for table in tables:
        conn.execute(_COPY_RUN.format(table=table), (run_id, run_id))


def _sha256(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode("utf-8")).hexdigest()
