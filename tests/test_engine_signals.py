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


def start(tmp_path: Path, sleep: float) -> tuple[subprocess.Popen[str], Path]:
    log = tmp_path / "log.txt"
    (tmp_path / "site.yml").write_text(PLAYBOOK.format(log=log, sleep=sleep))
    (tmp_path / "hosts.ini").write_text(INVENTORY)
    corral = str(Path(sys.executable).with_name("corral"))
    proc = subprocess.Popen(
        [corral, "run", "site.yml", "-i", "hosts.ini", "--output", "json"],
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
