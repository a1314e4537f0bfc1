"""The run store's schema, as numbered migrations applied in order.

The version lives in SQLite's ``PRAGMA user_version``. Each migration is a list of
statements run in one ``BEGIN IMMEDIATE`` transaction together with the version bump,
so two processes opening a new store at once cannot both apply it, and a crash half-way
leaves the previous version intact. A migration is never edited once released: a change
is a new migration appended to ``MIGRATIONS``.

Tables (see ``docs/store.md``):

- ``runs``: one row per run: what ran, who started it, status, pid and heartbeat, times.
- ``blobs``: snapshots of playbook files and inventories, by sha256, shared between runs.
- ``events``: the other events of a run as emitted (JSON); ``seq`` orders them and
  the units' events together. ``host_state`` events are not kept here.
- ``units``: one row per finished unit (task x host [x item]): its ``task_result`` or
  ``item_result`` event, as columns plus JSON; ``(run_id, unit_id)`` is unique, so a
  resumed run's attempt replaces the earlier one, which moves to ``unit_attempts``.
- ``host_state``: the latest registered/set_fact variables and facts per host, for resume.
- ``run_hosts`` / ``run_tasks``: per-run roll-ups that keep ``history`` and ``stats``
  fast on large stores; written when a run ends, with the run's playbook, status and
  start copied in so ``stats`` filters them without joining ``runs``.
- ``meta``: store-wide settings, e.g. when retention last ran.
- ``approvals``: each approval a run asked for, and who answered it, when, how.
- ``fires``: each time a trigger fired (kind, payload digest, params), written before
  its run starts; ``delivery`` dedupes webhook deliveries per trigger.
- ``run_control``: a cancel or pause asked of a run from any process, read by the
  running run at its next task boundary.
- ``leases``: the hosts and named resources a running run holds, so two runs do not
  touch the same host at once.
- ``tokens``: the API's bearer tokens, stored as sha256 digests, with their scope.
"""

from __future__ import annotations

from typing import Any

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "migrate", "schema_version"]

_V1 = [
    """CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        playbook TEXT NOT NULL,
        playbook_file TEXT NOT NULL DEFAULT '',
        playbook_hash TEXT NOT NULL DEFAULT '',
        inventory_hash TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL
            CHECK (status IN ('running', 'succeeded', 'failed', 'cancelled', 'interrupted')),
        exit_code INTEGER,
        started REAL NOT NULL,
        ended REAL,
        segment_started REAL,
        duration REAL NOT NULL DEFAULT 0,
        heartbeat REAL,
        pid INTEGER,
        controller TEXT NOT NULL DEFAULT '',
        started_by TEXT NOT NULL DEFAULT '',
        trigger TEXT NOT NULL DEFAULT '',
        argv TEXT NOT NULL DEFAULT '[]',
        cwd TEXT NOT NULL DEFAULT '',
        params TEXT NOT NULL DEFAULT '{}',
        extra_vars TEXT NOT NULL DEFAULT '{}',
        options TEXT NOT NULL DEFAULT '{}',
        check_mode INTEGER NOT NULL DEFAULT 0,
        resumes INTEGER NOT NULL DEFAULT 0,
        host_count INTEGER,
        failed_hosts INTEGER
    )""",
    "CREATE INDEX runs_started ON runs (started)",
    "CREATE INDEX runs_playbook ON runs (playbook, started)",
    "CREATE INDEX runs_status ON runs (status)",
    """CREATE TABLE blobs (
        hash TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        data TEXT NOT NULL
    )""",
    """CREATE TABLE events (
        run_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        time REAL NOT NULL,
        kind TEXT NOT NULL,
        host TEXT,
        task_uid TEXT,
        data TEXT NOT NULL,
        PRIMARY KEY (run_id, seq)
    )""",
    # A unit's result event is stored here and only here: the event's fields are
    # columns, and ``data`` holds the rest of it (``result``, ``item``...) as JSON.
    """CREATE TABLE units (
        run_id TEXT NOT NULL,
        unit_id TEXT NOT NULL,
        event_seq INTEGER NOT NULL,
        kind TEXT NOT NULL,
        time REAL NOT NULL,
        play TEXT NOT NULL DEFAULT '',
        task TEXT NOT NULL DEFAULT '',
        task_uid TEXT NOT NULL DEFAULT '',
        action TEXT NOT NULL DEFAULT '',
        host TEXT NOT NULL,
        handler INTEGER NOT NULL DEFAULT 0,
        item_index INTEGER,
        status TEXT NOT NULL,
        changed INTEGER NOT NULL DEFAULT 0,
        attempts INTEGER NOT NULL DEFAULT 1,
        started REAL,
        ended REAL,
        duration REAL,
        data TEXT NOT NULL DEFAULT '{}',
        PRIMARY KEY (run_id, unit_id)
    ) WITHOUT ROWID""",
    # Earlier attempts of units a resumed run ran again: kept for logs and reports.
    """CREATE TABLE unit_attempts (
        run_id TEXT NOT NULL,
        unit_id TEXT NOT NULL,
        event_seq INTEGER NOT NULL,
        kind TEXT NOT NULL,
        time REAL NOT NULL,
        play TEXT NOT NULL DEFAULT '',
        task TEXT NOT NULL DEFAULT '',
        task_uid TEXT NOT NULL DEFAULT '',
        action TEXT NOT NULL DEFAULT '',
        host TEXT NOT NULL,
        handler INTEGER NOT NULL DEFAULT 0,
        item_index INTEGER,
        status TEXT NOT NULL,
        changed INTEGER NOT NULL DEFAULT 0,
        attempts INTEGER NOT NULL DEFAULT 1,
        started REAL,
        ended REAL,
        duration REAL,
        data TEXT NOT NULL DEFAULT '{}',
        PRIMARY KEY (run_id, unit_id, event_seq)
    ) WITHOUT ROWID""",
    """CREATE TABLE host_state (
        run_id TEXT NOT NULL,
        host TEXT NOT NULL,
        vars TEXT NOT NULL DEFAULT '{}',
        facts TEXT NOT NULL DEFAULT '{}',
        updated REAL NOT NULL,
        PRIMARY KEY (run_id, host)
    )""",
    """CREATE TABLE run_hosts (
        run_id TEXT NOT NULL,
        host TEXT NOT NULL,
        ok INTEGER NOT NULL DEFAULT 0,
        changed INTEGER NOT NULL DEFAULT 0,
        unreachable INTEGER NOT NULL DEFAULT 0,
        failed INTEGER NOT NULL DEFAULT 0,
        skipped INTEGER NOT NULL DEFAULT 0,
        rescued INTEGER NOT NULL DEFAULT 0,
        ignored INTEGER NOT NULL DEFAULT 0,
        -- the run's, copied so stats filter without a join (see write_rollups)
        playbook TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL DEFAULT 'running',
        started REAL NOT NULL DEFAULT 0,
        PRIMARY KEY (run_id, host)
    ) WITHOUT ROWID""",
    "CREATE INDEX run_hosts_host ON run_hosts (host, started, status, playbook)",
    """CREATE INDEX run_hosts_failing ON run_hosts (host, started, status, playbook)
        WHERE failed > 0 OR unreachable > 0""",
    """CREATE TABLE run_tasks (
        run_id TEXT NOT NULL,
        task_uid TEXT NOT NULL,
        play TEXT NOT NULL DEFAULT '',
        task TEXT NOT NULL DEFAULT '',
        action TEXT NOT NULL DEFAULT '',
        units INTEGER NOT NULL,
        total_duration REAL NOT NULL,
        max_duration REAL NOT NULL,
        failures INTEGER NOT NULL,
        playbook TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL DEFAULT 'running',
        started REAL NOT NULL DEFAULT 0,
        PRIMARY KEY (run_id, task_uid)
    ) WITHOUT ROWID""",
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    # For people querying the store by hand: each unit with its result.
    """CREATE VIEW unit_results AS
        SELECT *, json_extract(data, '$.result') AS result FROM units""",
]

# v2: approvals asked by running runs and answered by ``corral approve`` or a terminal.
_V2 = [
    """CREATE TABLE approvals (
        id INTEGER PRIMARY KEY,
        run_id TEXT NOT NULL,
        key TEXT NOT NULL,
        message TEXT NOT NULL DEFAULT '',
        requested REAL NOT NULL,
        timeout REAL NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending'
            CHECK (status IN ('pending', 'approved', 'rejected', 'timed_out')),
        decided_by TEXT NOT NULL DEFAULT '',
        comment TEXT NOT NULL DEFAULT '',
        decided REAL
    )""",
    "CREATE INDEX approvals_run ON approvals (run_id, status)",
]

# v3: the server. ``runs`` gains the ``queued`` status (a fired trigger's run waiting
# for a worker), which SQLite can only add to a CHECK by rebuilding the table.
_RUN_COLUMNS = (
    "id, playbook, playbook_file, playbook_hash, inventory_hash, status, exit_code,"
    " started, ended, segment_started, duration, heartbeat, pid, controller, started_by,"
    " trigger, argv, cwd, params, extra_vars, options, check_mode, resumes, host_count,"
    " failed_hosts"
)
_V3 = [
    _V1[0]
    .replace("CREATE TABLE runs (", "CREATE TABLE runs_v3 (")
    .replace("IN ('running',", "IN ('queued', 'running',"),
    f"INSERT INTO runs_v3 ({_RUN_COLUMNS}) SELECT {_RUN_COLUMNS} FROM runs",  # noqa: S608 - fixed names
    "DROP TABLE runs",
    "ALTER TABLE runs_v3 RENAME TO runs",
    "CREATE INDEX runs_started ON runs (started)",
    "CREATE INDEX runs_playbook ON runs (playbook, started)",
    "CREATE INDEX runs_status ON runs (status)",
    """CREATE TABLE fires (
        id INTEGER PRIMARY KEY,
        time REAL NOT NULL,
        playbook TEXT NOT NULL,
        trigger TEXT NOT NULL,
        kind TEXT NOT NULL,
        delivery TEXT,
        payload_digest TEXT NOT NULL DEFAULT '',
        params TEXT NOT NULL DEFAULT '{}',
        run_id TEXT,
        outcome TEXT NOT NULL DEFAULT 'queued'
    )""",
    "CREATE UNIQUE INDEX fires_delivery ON fires (playbook, trigger, delivery)",
    "CREATE INDEX fires_trigger ON fires (playbook, trigger, time)",
    "CREATE INDEX fires_run ON fires (run_id) WHERE run_id IS NOT NULL",
    """CREATE TABLE run_control (
        run_id TEXT PRIMARY KEY,
        action TEXT NOT NULL CHECK (action IN ('cancel', 'pause')),
        requested REAL NOT NULL,
        requested_by TEXT NOT NULL DEFAULT '',
        grace REAL
    )""",
    """CREATE TABLE leases (
        name TEXT PRIMARY KEY,
        run_id TEXT NOT NULL,
        pid INTEGER NOT NULL,
        controller TEXT NOT NULL,
        acquired REAL NOT NULL,
        heartbeat REAL NOT NULL
    )""",
    "CREATE INDEX leases_run ON leases (run_id)",
    # An approval that whoever started the run may not answer (``forbid_starter``).
    "ALTER TABLE approvals ADD COLUMN forbid_starter INTEGER NOT NULL DEFAULT 0",
    """CREATE TABLE tokens (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL DEFAULT '',
        digest TEXT NOT NULL UNIQUE,
        scope TEXT NOT NULL CHECK (scope IN ('read', 'run', 'approve', 'admin')),
        created REAL NOT NULL,
        last_used REAL,
        revoked REAL
    )""",
]

# v4: the web UI and MCP. A trigger switched off from the UI stays off across restarts
# (``trigger_switches``, keyed as the ``fires`` table is); every call an MCP client or a
# UI user makes that changes something is recorded, with who made it (``audit``).
_V4 = [
    """CREATE TABLE trigger_switches (
        playbook TEXT NOT NULL,
        trigger TEXT NOT NULL,
        enabled INTEGER NOT NULL,
        changed REAL NOT NULL,
        changed_by TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (playbook, trigger)
    )""",
    """CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        time REAL NOT NULL,
        channel TEXT NOT NULL,
        client TEXT NOT NULL DEFAULT '',
        action TEXT NOT NULL,
        args TEXT NOT NULL DEFAULT '{}',
        outcome TEXT NOT NULL DEFAULT 'ok',
        run_id TEXT
    )""",
    "CREATE INDEX audit_time ON audit (time)",
]

# v5: runs ``corral serve`` handed whole to an executor's workers (corral.store.mirror),
# so that a server started again follows them instead of queueing them a second time.
_V5 = [
    """CREATE TABLE remote_runs (
        run_id TEXT PRIMARY KEY,
        executor TEXT NOT NULL,
        queue TEXT NOT NULL,
        task TEXT NOT NULL DEFAULT '',
        sent REAL NOT NULL
    )""",
]

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    tuple(_V1),
    tuple(_V2),
    tuple(_V3),
    tuple(_V4),
    tuple(_V5),
)
SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(conn: Any) -> int:
    """The schema version of the store behind the ``sqlite3`` connection ``conn``."""
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: Any) -> int:
    """Bring the store up to :data:`SCHEMA_VERSION`; returns the version it was at.

    Raises :class:`RuntimeError` when the store is newer than this corral (the caller
    turns it into a user-facing error with the path).
    """
    found = schema_version(conn)
    if found == SCHEMA_VERSION:
        return found
    if found > SCHEMA_VERSION:
        raise RuntimeError(f"schema version {found} is newer than this corral's ({SCHEMA_VERSION})")
    conn.execute("BEGIN IMMEDIATE")
    try:
        found = schema_version(conn)  # another process may have migrated while we waited
        for statements in MIGRATIONS[found:]:
            for statement in statements:
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return found
