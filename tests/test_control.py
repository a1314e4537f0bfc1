"""``corral cancel``, ``corral pause``, ``corral continue``: a run asked from another process.

Each test runs a real ``corral run`` (local connection) and asks it from a second real
``corral`` process, through the run store.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from control_runs import corral, env, log_lines, query

from corral.errors import UsageError
from corral.store.control import pending_control, request_cancel, request_continue, request_pause
from corral.store.db import Store

STEPS = """
- hosts: all
  gather_facts: false
  tasks:
    - block:
        - name: step1
          shell: "echo step1-begin >> {log}"
          rollback:
            - shell: "echo undo-step1 >> {log}"
        - name: step2
          shell: "echo step2-begin >> {log}; sleep {sleep}; echo step2-end >> {log}; exit {rc}"
        - name: step3
          shell: "echo step3-begin >> {log}; sleep 1"
        - name: step4
          shell: "echo step4-begin >> {log}; sleep 1"
      always:
        - name: cleanup
          shell: "echo always >> {log}"
"""
INVENTORY = "localhost ansible_connection=local\n"


def start(tmp_path: Path, *args: str, sleep: float = 4, rc: int = 0) -> subprocess.Popen[str]:
    """Start the playbook; return once step2 (the long one) is running."""
    log = tmp_path / "log.txt"
    (tmp_path / "site.yml").write_text(STEPS.format(log=log, sleep=sleep, rc=rc))
    (tmp_path / "hosts.ini").write_text(INVENTORY)
    proc = subprocess.Popen(
        [sys.executable, "-m", "corral", "run", "site.yml", "-i", "hosts.ini", *args],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env(tmp_path),
    )
    wait_for(lambda: "step2-begin" in log_lines(tmp_path), "step2 never started", proc)
    return proc


def wait_for(condition, message: str, proc: subprocess.Popen[str] | None = None) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if condition():
            return
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"{message}; the run exited: {proc.communicate()}")
        time.sleep(0.05)
    if proc is not None:
        proc.kill()
    raise AssertionError(message)


def test_cancel_from_another_process_winds_the_run_down_and_records_cancelled(tmp_path):
    proc = start(tmp_path)
    asked = corral(tmp_path, "cancel", "last")
    assert asked.returncode == 0, asked.stderr
    run_id = query(tmp_path, "SELECT id FROM runs")[0][0]
    assert asked.stdout.startswith(f"asked run {run_id} to cancel")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 99, err
    lines = log_lines(tmp_path)
    assert "step2-end" in lines, "the running task was let finish"
    assert "step3-begin" not in lines, "no task started after the cancel"
    assert "step4-begin" not in lines
    assert lines.count("always") == 1
    # The play was cut short (step3 and step4 never ran): it did not complete, so it
    # is rolled back, as a failed play is.
    assert lines[-1] == "undo-step1", "the completed step's rollback ran, after always"
    assert "cancelled by tester@" in out
    assert "from another process" in out
    assert query(tmp_path, "SELECT status, exit_code FROM runs") == [("cancelled", 99)]
    assert query(tmp_path, "SELECT count(*) FROM run_control") == [(0,)], "the request is settled"
    event = json.loads(query(tmp_path, "SELECT data FROM events WHERE kind = 'control'")[0][0])
    assert (event["action"], event["by"].split("@")[0], event["grace"]) == ("cancel", "tester", 30)


def test_a_task_failing_while_the_run_winds_down_is_rolled_back(tmp_path):
    proc = start(tmp_path, rc=1)
    assert corral(tmp_path, "cancel", "last", "--grace", "20s").returncode == 0
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 99, out + err
    lines = log_lines(tmp_path)
    assert "step3-begin" not in lines
    assert lines.count("always") == 1
    assert "undo-step1" in lines, "the completed step's rollback ran"
    assert "(up to 20s)" in out
    assert query(tmp_path, "SELECT status FROM runs") == [("cancelled",)]


def test_cancel_kills_what_still_runs_after_its_grace(tmp_path):
    proc = start(tmp_path, "--output", "json", sleep=60.5)
    started = time.monotonic()
    assert corral(tmp_path, "cancel", "last", "--grace", "500ms").returncode == 0
    out, err = proc.communicate(timeout=60)
    assert time.monotonic() - started < 40, "the 60 s task was not waited for"
    assert proc.returncode == 99, err
    assert "step2-end" not in log_lines(tmp_path)
    events = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    step2 = [e for e in events if e["event"] == "task_result" and e["task"] == "step2"]
    assert [e["status"] for e in step2] == ["interrupted"]
    control = [e for e in events if e["event"] == "control"]
    assert [(e["action"], e["grace"]) for e in control] == [("cancel", 0.5)]
    assert events[-1]["event"] == "recap"
    assert query(tmp_path, "SELECT status FROM runs") == [("cancelled",)]


def test_pause_holds_new_tasks_until_continue(tmp_path):
    proc = start(tmp_path, "--output", "json", sleep=3)
    run_id = query(tmp_path, "SELECT id FROM runs")[0][0]
    asked = corral(tmp_path, "pause", run_id[:12], "--json")
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    assert (answer["run_id"], answer["action"], answer["outcome"]) == (run_id, "pause", "asked")

    def units() -> int:
        return int(query(tmp_path, "SELECT count(*) FROM units WHERE run_id = ?", run_id)[0][0])

    def paused() -> bool:
        return bool(query(tmp_path, "SELECT 1 FROM events WHERE kind = 'control'"))

    # The run saw the pause, and step2 (running when it came) finished and was recorded.
    wait_for(lambda: paused() and units() == 2, "the run did not pause after step2", proc)
    held = time.monotonic() + 2
    while time.monotonic() < held:
        assert units() == 2, "a new unit started while paused"
        assert proc.poll() is None
        time.sleep(0.2)
    assert "step3-begin" not in log_lines(tmp_path)
    assert query(tmp_path, "SELECT status FROM runs") == [("running",)]

    resumed = corral(tmp_path, "continue", "last")
    assert (resumed.returncode, resumed.stdout.strip()) == (0, f"asked run {run_id} to continue")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert {"step3-begin", "step4-begin", "always"} <= set(log_lines(tmp_path))
    actions = [json.loads(line) for line in out.splitlines() if '"event":"control"' in line]
    assert [(e["action"], e.get("by", "").split("@")[0]) for e in actions] == [
        ("pause", "tester"),
        ("continue", ""),
    ]
    assert query(tmp_path, "SELECT status FROM runs") == [("succeeded",)]
    again = corral(tmp_path, "continue", "last")
    assert again.returncode == 5
    assert again.stderr.startswith(f"error: run {run_id} has already ended (succeeded)")


def test_a_paused_run_keeps_its_heartbeat_and_can_be_cancelled(tmp_path):
    proc = start(tmp_path, sleep=3)
    assert corral(tmp_path, "pause", "last").returncode == 0
    wait_for(lambda: "step2-end" in log_lines(tmp_path), "step2 did not finish", proc)
    [(run_id, beat)] = query(tmp_path, "SELECT id, heartbeat FROM runs")
    # The writer beats every 5 s: over 6 s paused, the heartbeat moves and the run is
    # still taken for alive by a command that checks (corral history marks dead runs).
    wait_for(
        lambda: query(tmp_path, "SELECT heartbeat FROM runs")[0][0] > beat,
        "no heartbeat while paused",
        proc,
    )
    history = corral(tmp_path, "history", "--json")
    assert json.loads(history.stdout)[0]["status"] == "running", history.stdout
    assert "step3-begin" not in log_lines(tmp_path)
    assert corral(tmp_path, "cancel", run_id).returncode == 0
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 99, err
    lines = log_lines(tmp_path)
    assert "step3-begin" not in lines, "the cancel ended the pause without continuing"
    assert lines.count("always") == 1
    assert "paused by tester@" in out
    assert "cancelled by tester@" in out
    assert query(tmp_path, "SELECT status FROM runs") == [("cancelled",)]


def queued_run(tmp_path: Path, run_id: str) -> None:
    store = Store(tmp_path / "home" / "corral.db")
    try:
        with store.transaction() as conn:
            conn.execute(
                "INSERT INTO runs (id, playbook, status, started) VALUES (?, ?, 'queued', ?)",
                (run_id, "site.yml", time.time()),
            )
    finally:
        store.close()


def test_a_queued_run_is_cancelled_at_once(tmp_path):
    queued_run(tmp_path, "20261205T080000-abcdef")
    paused = corral(tmp_path, "pause", "20261205T080000")
    assert paused.returncode == 0, paused.stderr
    asked = corral(tmp_path, "cancel", "20261205T080000", "--json")
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    assert (answer["outcome"], answer["status"]) == ("cancelled", "cancelled")
    assert answer["message"] == "cancelled queued run 20261205T080000-abcdef: it will not start"
    assert query(tmp_path, "SELECT status FROM runs") == [("cancelled",)]
    assert query(tmp_path, "SELECT count(*) FROM run_control") == [(0,)]
    event = json.loads(query(tmp_path, "SELECT data FROM events")[0][0])
    assert (event["event"], event["action"], event["queued"]) == ("control", "cancel", True)
    logs = corral(tmp_path, "logs", "last")
    assert "cancelled by tester@" in logs.stdout
    assert "while queued: the run never started" in logs.stdout


def test_asking_a_run_that_ended_or_does_not_exist_is_a_usage_error(tmp_path):
    (tmp_path / "site.yml").write_text(
        "- hosts: all\n  gather_facts: false\n  tasks: [debug: {}]\n"
    )
    (tmp_path / "hosts.ini").write_text(INVENTORY)
    assert corral(tmp_path, "run", "site.yml", "-i", "hosts.ini").returncode == 0
    run_id = query(tmp_path, "SELECT id FROM runs")[0][0]
    for command in ("cancel", "pause", "continue"):
        result = corral(tmp_path, command, "last")
        assert result.returncode == 5, result
        lines = result.stderr.splitlines()
        assert lines[0] == (
            f"error: run {run_id} has already ended (succeeded): there is nothing to {command}"
        )
        assert lines[1].startswith("hint: ")
        assert len(lines) == 2
    missing = corral(tmp_path, "cancel", "nosuchrun")
    assert missing.returncode == 5
    assert missing.stderr.startswith("error: no run 'nosuchrun' in the store")
    bad = corral(tmp_path, "cancel", "last", "--grace", "soon")
    assert (bad.returncode, bad.stderr.splitlines()[0]) == (
        5,
        "error: --grace 'soon' is not a duration",
    )
    assert "Traceback" not in missing.stderr + bad.stderr


def running_run(store: Store, run_id: str) -> None:
    """A ``running`` row held by this (live) process, as begin_run leaves it."""
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO runs (id, playbook, status, started, heartbeat, pid, controller)"
            " VALUES (?, 'site.yml', 'running', ?, ?, ?, ?)",
            (run_id, time.time(), time.time(), os.getpid(), socket.gethostname()),
        )


def test_the_store_functions_the_server_calls(tmp_path):
    store = Store(tmp_path / "corral.db")
    try:
        running_run(store, "r1")
        paused = request_pause(store, "r1", by="ann@ops")
        assert (paused.outcome, paused.status) == ("asked", "running")
        assert pending_control(store, "r1").action == "pause"
        cancel = request_cancel(store, "r1", by="bob@ops", grace=5)
        asked = pending_control(store, "r1")
        assert (asked.action, asked.requested_by, asked.grace) == ("cancel", "bob@ops", 5)
        assert cancel.as_dict()["message"].startswith("asked run r1 to cancel")
        with pytest.raises(UsageError, match="run r1 is being cancelled: it cannot be paused"):
            request_pause(store, "r1", by="ann@ops")
        assert request_continue(store, "r1", by="ann@ops").outcome == "not_paused"
        # The run winds down (recap, exit 99): recorded cancelled, the request settled.
        store.finish_run("r1", "interrupted", 99, time.time())
        assert store.run_row("r1")["status"] == "cancelled"
        assert pending_control(store, "r1") is None
        # A process that died with a cancel pending was not cancelled: it is interrupted.
        running_run(store, "r2")
        request_cancel(store, "r2", by="bob@ops")
        store.finish_run("r2", "interrupted", None, time.time())
        assert store.run_row("r2")["status"] == "interrupted"
        assert pending_control(store, "r2") is None
    finally:
        store.close()
