"""Stopping a run: the first SIGINT winds down cleanly, a second aborts at once."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

PLAYBOOK = """
- hosts: all
  tasks:
    - block:
        - shell: "echo start >> {log}"
          notify: report
        - name: slow
          shell: "echo slow-begin >> {log}; sleep {sleep}; echo slow-end >> {log}"
        - name: never
          shell: "echo never >> {log}"
      always:
        - name: cleanup
          shell: "echo always >> {log}"
  handlers:
    - name: report
      shell: "echo handler >> {log}"
"""
INVENTORY = "[all]\nh1 ansible_connection=local\nh2 ansible_connection=local\n"


def start(tmp_path: Path, sleep: float, *args: str) -> tuple[subprocess.Popen[str], Path]:
    log = tmp_path / "log.txt"
    (tmp_path / "site.yml").write_text(PLAYBOOK.format(log=log, sleep=sleep))
    (tmp_path / "hosts.ini").write_text(INVENTORY)
    corral = str(Path(sys.executable).with_name("corral"))
    proc = subprocess.Popen(
        [corral, "run", "site.yml", "-i", "hosts.ini", "--output", "json", *args],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={"PATH": "/usr/bin:/bin", "CORRAL_HOME": str(tmp_path / "home")},
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if log.exists() and log.read_text().count("slow-begin") == 2:
            return proc, log
        time.sleep(0.02)
    proc.kill()
    raise AssertionError("the slow task never started")


def test_first_sigint_lets_running_tasks_finish_then_runs_always_and_handlers(tmp_path):
    proc, log = start(tmp_path, sleep=1.5)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 99, err
    lines = log.read_text().split()
    assert lines.count("slow-end") == 2, "running units were allowed to finish"
    assert "never" not in lines, "no new unit started after the signal"
    assert lines.count("always") == 2
    assert lines.count("handler") == 2
    assert "stopping after the running tasks finish" in err
    recap = json.loads(out.splitlines()[-1])
    assert (recap["event"], recap["exit_code"]) == ("recap", 99)


def test_second_sigint_aborts_at_once(tmp_path):
    proc, log = start(tmp_path, sleep=30)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.3)
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    assert time.monotonic() - started < 15  # the running tasks sleep 30 s: they were not awaited
    assert proc.returncode == 99
    assert "aborting" in err
    assert "slow-end" not in log.read_text()


def test_sigterm_behaves_like_the_first_sigint(tmp_path):
    proc, log = start(tmp_path, sleep=1)
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=30)
    assert proc.returncode == 99
    assert log.read_text().split().count("always") == 2


def running_commands(marker: str) -> list[str]:
    """Command lines of the processes on this machine that contain ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                line = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if marker in line:
                found.append(line)
    return found


def test_commands_still_running_when_the_grace_period_ends_are_killed(tmp_path):
    # Each command would sleep 30.25 s; the grace period is 1 s. Had the commands not
    # been killed, they would have written slow-end before the run could end.
    proc, log = start(tmp_path, 30.25, "--grace", "1")
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 99, err
    assert "slow-end" not in log.read_text()
    assert running_commands("sleep 30.25") == [], "the process groups were killed"
    events = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    slow = {e["host"]: e for e in events if e["event"] == "task_result" and e["task"] == "slow"}
    assert {h: e["status"] for h, e in slow.items()} == {"h1": "interrupted", "h2": "interrupted"}
    assert all(e["result"]["interrupted"] for e in slow.values())
    recap = events[-1]
    assert (recap["event"], recap["exit_code"]) == ("recap", 99)
    assert all(counts["failed"] == 1 for counts in recap["hosts"].values()), recap
