"""The run store itself: schema, the batching writer, run status, liveness, retention."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from corral.errors import UsageError
from corral.store import RunRecord, Store, StoreError, StoreWriter, snapshot_files
from corral.store.records import snapshot_hash
from corral.store.retention import parse_age, parse_since, prune, prune_when_due, retention_from_env
from corral.store.schema import SCHEMA_VERSION


def record(
    run_id: str, *, started: float | None = None, pid: int = 1, playbook: str = "site.yml"
) -> RunRecord:
    snapshot = {"site.yml": "- hosts: all\n  tasks: []\n"}
    return RunRecord(
        run_id=run_id,
        playbook=playbook,
        playbook_hash=snapshot_hash(snapshot),
        snapshot=snapshot,
        inventory={"all": {"children": ["ungrouped"]}, "_meta": {"hostvars": {}}},
        params={},
        extra_vars={"version": "1.2.3", "token": "********"},
        options={"forks": 10, "check": False},
        started_by="ops@box",
        trigger="cli",
        argv=("corral", "run", playbook),
        pid=pid,
        started=time.time() if started is None else started,
        playbook_file="site.yml",
    )


def result_event(
    host: str,
    task: int,
    status: str = "ok",
    *,
    started: float = 100.0,
    duration: float = 0.5,
    **extra,
):
    uid = f"play0/tasks/{task}"
    return {
        "event": "task_result",
        "time": started + duration,
        "host": host,
        "task": f"task {task}",
        "action": "shell",
        "uid": uid,
        "unit_id": f"{uid}@0.{task}#{host}",
        "status": status,
        "result": {
            "changed": status == "changed",
            "failed": status == "failed",
            "msg": f"{host} {task}",
        },
        "started": started,
        "ended": started + duration,
        "attempts": 1,
        **extra,
    }


def feed(store: Store, run_id: str, events: list[dict], *, close: bool = True) -> StoreWriter:
    writer = StoreWriter(store, run_id)
    for event in events:
        writer(event)
    if close:
        writer.close()
    else:
        writer.flush()
    return writer


@pytest.fixture
def store(tmp_path: Path) -> Store:
    opened = Store(tmp_path / "home" / "corral.db")
    yield opened
    opened.close()


def test_new_store_is_wal_migrated_and_reopens(tmp_path):
    path = tmp_path / "home" / "corral.db"
    first = Store(path)
    assert first.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert first.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    first.close()
    again = Store(path)
    assert {"runs", "units", "events", "host_state", "run_hosts", "run_tasks", "blobs"} <= set(
        again.db.table_names()
    )
    again.close()


def test_a_version_2_store_migrates_keeping_its_runs_and_accepts_queued_runs(tmp_path):
    from corral.store.schema import MIGRATIONS

    path = tmp_path / "corral.db"
    conn = sqlite3.connect(path)
    for statements in MIGRATIONS[:2]:
        for statement in statements:
            conn.execute(statement)
    conn.execute("PRAGMA user_version = 2")
    conn.execute(
        "INSERT INTO runs (id, playbook, status, started, params) "
        "VALUES ('r1', 'site.yml', 'failed', 1.5, '{\"n\": 1}')"
    )
    conn.commit()
    conn.close()

    store = Store(path)
    row = store.run_row("r1")
    assert row is not None
    assert (row["playbook"], row["status"], row["params"]) == ("site.yml", "failed", '{"n": 1}')
    store.conn.execute(
        "INSERT INTO runs (id, playbook, status, started) VALUES ('q', 'a', 'queued', 2)"
    )
    assert {"fires", "run_control", "leases", "tokens"} <= set(store.db.table_names())
    assert store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    store.close()


def test_store_from_a_newer_corral_is_refused(tmp_path):
    path = tmp_path / "corral.db"
    Store(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="newer corral"):
        Store(path)


def test_a_store_being_created_by_another_process_is_waited_for(tmp_path):
    # The other process has made the file and holds its write lock (before WAL mode):
    # switching to WAL fails at once then, without SQLite's busy wait.
    path = tmp_path / "corral.db"
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    other.execute("CREATE TABLE being_made (x)")
    releaser = threading.Timer(0.5, lambda: other.execute("ROLLBACK"))
    releaser.start()
    try:
        store = Store(path)
    finally:
        releaser.join()
        other.close()
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    store.close()


def test_two_processes_creating_the_store_at_once_migrate_it_once(tmp_path):
    path = tmp_path / "corral.db"
    code = f"from corral.store import Store; Store({str(path)!r}).close()"
    procs = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(4)]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0, 0]
    store = Store(path)
    assert store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    store.close()


def test_writer_records_units_events_and_finishes_the_run(store):
    store.begin_run(record("r1"))
    feed(
        store,
        "r1",
        [
            {"event": "run_start", "time": 99.0, "playbook": "site.yml", "pid": 1},
            {
                "event": "play_start",
                "time": 99.0,
                "play": "web",
                "uid": "play0",
                "hosts": ["a", "b"],
            },
            result_event("a", 0, "changed"),
            result_event("b", 0, "failed", duration=2.0),
            {
                "event": "host_state",
                "host": "a",
                "vars": {"out": {"rc": 0}},
                "facts": {"os": "linux"},
            },
            {
                "event": "host_state",
                "host": "a",
                "vars": {"out": {"rc": 1}},
                "facts": {"os": "linux"},
            },
            {
                "event": "recap",
                "time": 103.0,
                "exit_code": 2,
                "hosts": {"a": {"ok": 1, "changed": 1}, "b": {"failed": 1}},
            },
        ],
    )
    run = store.run_row("r1")
    assert run["status"] == "failed"
    assert run["exit_code"] == 2
    assert (run["host_count"], run["failed_hosts"]) == (2, 1)
    units = {u["unit_id"]: u for u in store.db.query("SELECT * FROM units")}
    assert units["play0/tasks/0@0.0#b"]["status"] == "failed"
    assert units["play0/tasks/0@0.0#b"]["duration"] == pytest.approx(2.0)
    assert units["play0/tasks/0@0.0#a"]["play"] == "web"
    assert units["play0/tasks/0@0.0#a"]["changed"] == 1
    [state] = store.db.query("SELECT * FROM host_state")
    assert state["vars"] == '{"out":{"rc":1}}', "the latest host_state wins"
    from corral.store.queries import all_events

    kinds = [event["event"] for event in all_events(store, "r1")]
    assert kinds == ["run_start", "play_start", "task_result", "task_result", "recap"]
    failed = list(all_events(store, "r1"))[3]
    assert failed["result"]["msg"] == "b 0", "a unit's event comes back as it was emitted"
    assert (failed["host"], failed["status"], failed["unit_id"]) == (
        "b",
        "failed",
        "play0/tasks/0@0.0#b",
    )
    [task] = store.db.query("SELECT * FROM run_tasks")
    assert (task["units"], task["failures"], task["max_duration"]) == (2, 1, pytest.approx(2.0))


def test_flush_makes_everything_handed_over_visible_to_another_connection(store):
    store.begin_run(record("r1"))
    writer = StoreWriter(store, "r1")
    for index in range(500):
        writer(result_event(f"h{index}", 0))
    writer.flush()
    other = Store(store.path)
    assert other.conn.execute("SELECT count(*) FROM units WHERE run_id = 'r1'").fetchone()[0] == 500
    other.close()
    writer.close()


def test_calls_only_enqueue_even_while_the_database_is_locked(store):
    store.begin_run(record("r1"))
    writer = StoreWriter(store, "r1")
    blocker = sqlite3.connect(store.path, isolation_level=None, check_same_thread=False)
    blocker.execute("BEGIN IMMEDIATE")  # holds the write lock: the writer thread must wait
    for index in range(2000):  # each call returns while the lock is held: nothing waits
        writer(result_event(f"h{index}", 1))
    # Nothing can have been written yet: the calls handed the events over, no more.
    assert blocker.execute("SELECT count(*) FROM units").fetchone()[0] == 0
    threading.Timer(0.5, blocker.execute, ["COMMIT"]).start()
    writer.flush()
    assert store.conn.execute("SELECT count(*) FROM units").fetchone()[0] == 2000
    writer.close()
    blocker.close()


def test_replayed_units_keep_the_row_of_the_run_that_ran_them(store):
    from corral.store.queries import all_events

    store.begin_run(record("r1"))
    feed(store, "r1", [result_event("a", 0, "changed", started=100.0, duration=3.0)])
    store.resume_run("r1", pid=2)
    replay = result_event("a", 0, "changed", started=500.0, duration=0.0, resumed=True, attempts=0)
    rerun = result_event("a", 1, "ok", started=501.0, duration=1.0)
    feed(
        store,
        "r1",
        [
            replay,
            rerun,
            {"event": "recap", "time": 502.0, "exit_code": 0, "hosts": {"a": {"ok": 2}}},
        ],
    )
    units = {u["unit_id"]: u for u in store.db.query("SELECT * FROM units")}
    assert len(units) == 2
    assert units["play0/tasks/0@0.0#a"]["duration"] == pytest.approx(3.0)
    seqs = [
        row[0]
        for row in store.conn.execute(
            "SELECT event_seq FROM units UNION ALL SELECT seq FROM events"
        )
    ]
    assert sorted(seqs) == list(range(4)), "a resumed run numbers its events after the earlier ones"
    kinds = [(e["event"], e.get("resumed", False)) for e in all_events(store, "r1")]
    assert kinds[:3] == [("task_result", False), ("task_result", True), ("task_result", False)]
    run = store.run_row("r1")
    assert (run["status"], run["resumes"]) == ("succeeded", 1)


def test_a_unit_run_again_by_a_resumed_run_keeps_its_earlier_attempt(store):
    from corral.store.queries import all_events

    store.begin_run(record("r1"))
    feed(store, "r1", [result_event("a", 0, "failed")])
    store.resume_run("r1", pid=2)
    feed(store, "r1", [result_event("a", 0, "changed", started=200.0)])
    [unit] = store.db.query("SELECT status FROM units")
    assert unit["status"] == "changed"
    statuses = [e["status"] for e in all_events(store, "r1") if e["event"] == "task_result"]
    assert statuses == ["failed", "changed"], "the log keeps the failed attempt"


def test_writer_closed_without_a_recap_leaves_the_run_interrupted(store):
    store.begin_run(record("r1"))
    feed(store, "r1", [result_event("a", 0)])
    assert store.run_row("r1")["status"] == "interrupted"


def test_a_run_whose_process_died_is_shown_interrupted(store):
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    store.begin_run(record("dead", pid=proc.pid))
    store.begin_run(record("alive"))  # pid 1 is alive, heartbeat fresh
    assert store.refresh_liveness() == ["dead"]
    assert store.run_row("dead")["status"] == "interrupted"
    assert store.run_row("alive")["status"] == "running"
    # A live pid with a heartbeat older than 30 s is dead too (a reused pid, another host).
    store.conn.execute(
        "UPDATE runs SET heartbeat = ?, started = ? WHERE id = 'alive'", (time.time() - 60,) * 2
    )
    assert store.refresh_liveness() == ["alive"]


def test_writer_keeps_the_heartbeat_fresh(store):
    store.begin_run(record("r1"))
    store.conn.execute("UPDATE runs SET heartbeat = 0 WHERE id = 'r1'")
    writer = StoreWriter(store, "r1", heartbeat_every=0.05)
    time.sleep(0.8)  # the writer wakes every 0.25 s
    assert store.run_row("r1")["heartbeat"] > time.time() - 5
    writer.close()


def test_resolve_run_by_prefix_and_last(store):
    store.begin_run(record("20261124T090000-aaaaaa", started=1000.0, pid=0))
    store.begin_run(record("20261124T090000-abbbbb", started=2000.0, pid=0))
    store.begin_run(record("20261124T100000-cccccc", started=3000.0, pid=0))
    assert store.resolve_run("20261124T10")["id"] == "20261124T100000-cccccc"
    assert store.resolve_run("last")["id"] == "20261124T100000-cccccc"
    with pytest.raises(UsageError, match="more than one run"):
        store.resolve_run("20261124T0900")
    with pytest.raises(UsageError, match="no run"):
        store.resolve_run("nope")


def test_snapshot_files_keep_layout_relative_to_the_playbook(tmp_path):
    (tmp_path / "play").mkdir()
    (tmp_path / "common").mkdir()
    (tmp_path / "play" / "site.yml").write_text("site")
    (tmp_path / "common" / "tasks.yml").write_text("tasks")
    snapshot = snapshot_files(
        [tmp_path / "play" / "site.yml", tmp_path / "common" / "tasks.yml"], tmp_path / "play"
    )
    assert snapshot == {"site.yml": "site", "../common/tasks.yml": "tasks"}
    assert snapshot_hash(snapshot) == snapshot_hash(dict(reversed(list(snapshot.items()))))


def test_ages_and_retention_setting():
    assert parse_age("30d") == 30 * 86400
    assert parse_age("12h") == 12 * 3600
    with pytest.raises(UsageError, match="not an age"):
        parse_age("soon")
    assert parse_since("1h", now=10_000.0) == 6400.0
    assert parse_since("2026-11-01T00:00:00+00:00") == 1793491200.0
    assert retention_from_env({}) == 90 * 86400
    assert retention_from_env({"CORRAL_STORE_RETENTION": "forever"}) is None
    with pytest.raises(UsageError):
        retention_from_env({"CORRAL_STORE_RETENTION": "often"})


def test_prune_deletes_old_finished_runs_and_their_rows_only(store):
    old = time.time() - 40 * 86400
    store.begin_run(record("old", started=old, pid=0))
    feed(
        store,
        "old",
        [
            result_event("a", 0),
            {"event": "recap", "time": old + 1, "exit_code": 0, "hosts": {"a": {"ok": 1}}},
        ],
    )
    store.begin_run(
        record("old-running", started=old)
    )  # pid 1 alive, heartbeat fresh: still running
    store.begin_run(record("new", pid=0))
    feed(store, "new", [result_event("a", 0)])
    result = prune(store, 30 * 86400)
    assert (result.runs, result.units) == (1, 1)
    assert {row[0] for row in store.conn.execute("SELECT id FROM runs")} == {"old-running", "new"}
    assert store.conn.execute("SELECT count(*) FROM units WHERE run_id = 'old'").fetchone()[0] == 0
    assert store.conn.execute("SELECT count(*) FROM events WHERE run_id = 'old'").fetchone()[0] == 0
    assert store.conn.execute("SELECT count(*) FROM blobs").fetchone()[0] == 2, (
        "snapshots still used are kept"
    )


def test_automatic_retention_runs_at_most_once_a_day(tmp_path):
    store = Store(tmp_path / "corral.db", retention=30 * 86400)
    store.begin_run(record("old", started=time.time() - 40 * 86400, pid=0))
    store.finish_run("old", "succeeded", 0, time.time() - 40 * 86400)
    assert prune_when_due(store).runs == 1
    store.begin_run(record("old2", started=time.time() - 40 * 86400, pid=0))
    store.finish_run("old2", "succeeded", 0, time.time() - 40 * 86400)
    assert prune_when_due(store) is None, "already pruned today"
    assert prune_when_due(store, now=time.time() + 2 * 86400).runs == 1
    store.close()
