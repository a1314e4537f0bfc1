"""A cancelled run winds down with its cleanup, even after the grace period.

When the grace period ends, only the units running then are killed; ``always``
sections, due handlers and the rollback of the play cut short still run, on
connections opened anew, for up to the grace period again. A second signal or
``corral cancel --now`` aborts at once, without cleanup.

Each test runs a real ``corral run`` (local connection) and stops it with a real
``corral cancel`` or real signals; what it checks is in the run's output and store.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from control_runs import corral, env, log_lines, query

BLOCK = """
- hosts: all
  gather_facts: false
  tasks:
    - name: first
      shell: "echo first >> {log}"
      rollback:
        - shell: "echo undo-first >> {log}"
    - block:
        - name: slow
          shell: "echo slow-begin >> {log}; sleep {sleep}; echo slow-end >> {log}"
        - name: never
          shell: "echo never >> {log}"
      always:
        - name: cleanup
          shell: "{always}; echo cleaned up; echo always >> {log}"
  rollback:
    - name: play rollback
      shell: "echo undo-play >> {log}"
"""
INVENTORY = "localhost ansible_connection=local\n"
JSON = ("--output", "json")


def start(tmp_path: Path, *args: str, sleep: float, always: str = "true") -> subprocess.Popen[str]:
    """Start the playbook (JSON output); return once the slow task is running."""
    log = tmp_path / "log.txt"
    (tmp_path / "site.yml").write_text(BLOCK.format(log=log, sleep=sleep, always=always))
    (tmp_path / "hosts.ini").write_text(INVENTORY)
    return launch(tmp_path, {"slow-begin"}, *JSON, *args)


def launch(tmp_path: Path, marks: set[str], *args: str) -> subprocess.Popen[str]:
    """``corral run site.yml``; returns once every line of ``marks`` is in the log."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "corral", "run", "site.yml", "-i", "hosts.ini", *args],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env(tmp_path),
    )
    deadline = time.monotonic() + 60
    while marks - set(log_lines(tmp_path)):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"the slow task never started: {proc.communicate()}")
        time.sleep(0.05)
    return proc


def stored_units(tmp_path: Path) -> dict[str, tuple[str, dict[str, object]]]:
    """The run's recorded units by task name: (status, result)."""
    rows = query(tmp_path, "SELECT task, status, data FROM units ORDER BY event_seq")
    return {str(task): (str(s), json.loads(str(data))["result"]) for task, s, data in rows}


def events(out: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def test_a_cancel_kills_the_running_task_then_runs_always_and_rollback(tmp_path):
    proc = start(tmp_path, sleep=30.5)
    started = time.monotonic()
    asked = corral(tmp_path, "cancel", "last", "--grace", "1")
    assert asked.returncode == 0, asked.stderr
    assert "always sections, handlers and rollbacks run" in asked.stdout
    # A cancel asked meanwhile changes nothing: the first request (and its grace) stands.
    again = corral(tmp_path, "cancel", "last", "--grace", "1h")
    assert again.returncode == 0
    assert "is already being cancelled" in again.stdout
    assert "--now" in again.stdout
    out, err = proc.communicate(timeout=60)
    assert time.monotonic() - started < 20, "the 30 s task was not waited for"
    assert proc.returncode == 99, err
    assert query(tmp_path, "SELECT status, exit_code FROM runs") == [("cancelled", 99)]
    units = stored_units(tmp_path)
    assert units["slow"][0] == "interrupted"
    assert "never" not in units, "no ordinary task started after the cancel"
    # The always section ran after the kill, on a connection opened again.
    assert units["cleanup"][0] == "changed"
    assert units["cleanup"][1]["stdout"] == "cleaned up"
    lines = log_lines(tmp_path)
    assert "slow-end" not in lines
    assert lines.count("always") == 1
    # The play was cut short: the completed task's rollback, then the play's own, ran.
    assert lines[-2:] == ["undo-first", "undo-play"]
    kinds = [e["event"] for e in events(out)]
    assert kinds.index("rollback_start") < kinds.index("rollback_end") < kinds.index("recap")
    [rollback] = [e for e in events(out) if e["event"] == "rollback_start"]
    assert rollback["reason"] == "failed", "the killed task failed the host"


def test_a_sigterm_winds_down_the_same_way_after_the_run_s_grace(tmp_path):
    proc = start(tmp_path, "--grace", "1", sleep=30.5)
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=60)
    assert time.monotonic() - started < 20
    assert proc.returncode == 99, err
    assert "stopping after the running tasks finish (up to 1s)" in err
    lines = log_lines(tmp_path)
    assert (lines.count("always"), lines[-2:]) == (1, ["undo-first", "undo-play"])
    assert stored_units(tmp_path)["slow"][0] == "interrupted"
    assert query(tmp_path, "SELECT status FROM runs") == [("interrupted",)]


def test_ctrl_c_twice_aborts_without_cleanup(tmp_path):
    proc = start(tmp_path, sleep=30.5)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.3)  # let the first one be handled before the second (not what is tested)
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert time.monotonic() - started < 15
    assert proc.returncode == 99, err
    assert "stopping after the running tasks finish" in err
    assert "aborting" in err
    lines = log_lines(tmp_path)
    assert "always" not in lines, "an abort runs no always section"
    assert "undo-first" not in lines, "nor a rollback"
    assert query(tmp_path, "SELECT status FROM runs") == [("interrupted",)]
    assert events(out)[-1]["exit_code"] == 99


def test_cancel_now_aborts_a_run_that_is_winding_down(tmp_path):
    proc = start(tmp_path, sleep=30.5)
    assert corral(tmp_path, "cancel", "last", "--grace", "60s").returncode == 0
    deadline = time.monotonic() + 30
    while not query(tmp_path, "SELECT 1 FROM events WHERE kind = 'control'"):
        assert time.monotonic() < deadline, "the run never took the cancel up"
        time.sleep(0.05)
    started = time.monotonic()
    now = corral(tmp_path, "cancel", "last", "--now", "--json")
    assert now.returncode == 0, now.stderr
    answer = json.loads(now.stdout)
    assert (answer["outcome"], answer["now"]) == ("asked", True)
    assert "abort now" in answer["message"]
    out, err = proc.communicate(timeout=60)
    assert time.monotonic() - started < 15, "the grace period was not waited for"
    assert proc.returncode == 99, err
    assert query(tmp_path, "SELECT status FROM runs") == [("cancelled",)]
    assert "always" not in log_lines(tmp_path)
    assert stored_units(tmp_path)["slow"][0] == "interrupted"
    control = [e for e in events(out) if e["event"] == "control"]
    assert [e["action"] for e in control] == ["cancel", "abort"]
    assert str(control[1]["by"]).startswith("tester@")


def test_a_hanging_always_section_is_cut_off_after_its_limit(tmp_path):
    proc = start(tmp_path, sleep=30.5, always="sleep 40.5")
    started = time.monotonic()
    assert corral(tmp_path, "cancel", "last", "--grace", "1").returncode == 0
    out, err = proc.communicate(timeout=60)
    # 1 s of grace, 1 s more for the cleanup, then the hanging always section is killed.
    assert time.monotonic() - started < 20, "the 40 s always section was not waited for"
    assert proc.returncode == 99, err
    assert query(tmp_path, "SELECT status, exit_code FROM runs") == [("cancelled", 99)]
    units = stored_units(tmp_path)
    assert units["slow"][0] == "interrupted"
    assert units["cleanup"][0] == "interrupted"
    assert "always" not in log_lines(tmp_path)
    assert "undo-first" not in log_lines(tmp_path), "an aborted run rolls nothing back"
    control = [e for e in events(out) if e["event"] == "control"]
    assert [(e["action"], e.get("limit")) for e in control] == [("cancel", None), ("abort", 2)]


def test_cancel_now_with_a_grace_is_a_usage_error(tmp_path):
    result = corral(tmp_path, "cancel", "last", "--now", "--grace", "5s")
    assert result.returncode == 5
    lines = result.stderr.splitlines()
    assert (
        lines[0] == "error: --now and --grace cannot be used together: --now gives no grace period"
    )
    assert lines[1].startswith("hint: ")
    assert len(lines) == 2


HANDLERS = """
- hosts: all
  gather_facts: false
  tasks:
    - block:
        - name: slow
          shell: "echo slow-begin-{{{{ inventory_hostname }}}} >> {log}; sleep {{{{ nap }}}}"
          notify: report
        - name: never
          shell: "echo never >> {log}"
      always:
        - shell: "echo always-{{{{ inventory_hostname }}}} >> {log}"
  handlers:
    - name: report
      shell: "echo handler-{{{{ inventory_hostname }}}} >> {log}"
"""


def test_handlers_due_on_hosts_that_finished_run_after_the_kill(tmp_path):
    # h1's task finishes at once and notifies; h2's is still running when the grace ends.
    log = tmp_path / "log.txt"
    (tmp_path / "site.yml").write_text(HANDLERS.format(log=log))
    (tmp_path / "hosts.ini").write_text(
        "h1 ansible_connection=local nap=0\nh2 ansible_connection=local nap=30.5\n"
    )
    proc = launch(tmp_path, {"slow-begin-h1", "slow-begin-h2"})
    assert corral(tmp_path, "cancel", "last", "--grace", "1").returncode == 0
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 99, err
    lines = log_lines(tmp_path)
    assert {"always-h1", "always-h2", "handler-h1"} <= set(lines)
    assert "handler-h2" not in lines, "h2 failed (interrupted): its handlers are not due"
    assert "never" not in lines
    assert "INTERRUPTED" in out
    slow = query(tmp_path, "SELECT host, status FROM units WHERE task = 'slow' ORDER BY host")
    assert slow == [("h1", "changed"), ("h2", "interrupted")]


SERIAL = """
- hosts: all
  gather_facts: false
  serial: 1
  tasks:
    - shell: "echo begin-{{{{ inventory_hostname }}}} >> {log}; sleep 4"
  rollback:
    - shell: "echo undo-{{{{ inventory_hostname }}}} >> {log}"
"""


def test_a_play_whose_later_batches_never_started_is_rolled_back(tmp_path):
    (tmp_path / "site.yml").write_text(SERIAL.format(log=tmp_path / "log.txt"))
    (tmp_path / "hosts.ini").write_text(
        "h1 ansible_connection=local\nh2 ansible_connection=local\n"
    )
    proc = launch(tmp_path, {"begin-h1"})
    assert corral(tmp_path, "cancel", "last").returncode == 0
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 99, err
    # h1's batch finished within the grace period; h2's never started: the play did not
    # complete, so h1 is rolled back, and h2 (which ran nothing) is not.
    assert log_lines(tmp_path) == ["begin-h1", "undo-h1"]
    assert "the run stopped before the play completed; undoing completed work on h1" in out
    assert query(tmp_path, "SELECT status FROM runs") == [("cancelled",)]
