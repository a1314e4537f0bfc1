"""Orchestration beyond Ansible.

Params, the play DAG, retries, timeouts, error policy, rollback and approvals.
"""

from __future__ import annotations

import itertools
import subprocess
import time

import pytest

INVENTORY = (
    "[web]\nh1 ansible_connection=local\nh2 ansible_connection=local\nh3 ansible_connection=local\n"
)


@pytest.fixture
def project(corral_project):
    corral_project.write("hosts.ini", INVENTORY)
    return corral_project


def run(project, playbook: str, *args: str):
    project.write("site.yml", playbook)
    result = project.run("run", "site.yml", "-i", "hosts.ini", "--output", "json", *args)
    return result, result.json_lines()


def debug_messages(events, host=None):
    return [
        e["result"]["msg"]
        for e in events
        if e["event"] == "task_result"
        and e["action"] == "debug"
        and (host is None or e["host"] == host)
    ]


PARAMS = """
- hosts: h1
  params:
    version: {type: string, pattern: "^\\\\d+\\\\.\\\\d+\\\\.\\\\d+$", description: the release}
    drain_seconds: {type: integer, minimum: 0, maximum: 600, default: 30}
    db_password: {type: string, secret: true}
  tasks:
    - debug: {msg: "v{{ version }} drain {{ drain_seconds + 1 }}"}
    - shell: "echo pw={{ db_password }} > {{ out }}"
"""


def test_params_are_typed_and_secret(project):
    out = project.path / "pw.txt"
    result, events = run(
        project, PARAMS, "-p", "version=1.2.3", "-p", "db_password=hunter2", "-e", f"out={out}"
    )
    assert result.exit_code == 0, result.output
    assert debug_messages(events) == ["v1.2.3 drain 31"]
    assert out.read_text() == "pw=hunter2\n", "the secret renders into the command"
    assert "hunter2" not in result.output, "but never into output"


def test_bad_params_list_every_problem_before_touching_a_host(project):
    project.write("site.yml", PARAMS)
    result = project.run(
        "run",
        "site.yml",
        "-i",
        "hosts.ini",
        "-p",
        "version=1.2",
        "-p",
        "drain_seconds=700",
        "-p",
        "verison=1",
    )
    assert result.exit_code == 4
    (line, hint) = result.stderr.splitlines()
    assert line.startswith("error: invalid params: ")
    assert "unknown param 'verison' (did you mean 'version'?)" in line
    assert "version: '1.2' does not match" in line
    assert "drain_seconds: 700 is greater than the maximum of 600" in line
    assert "db_password: required" in line
    assert hint == "hint: see 'corral run --help-params PLAYBOOK'"


def test_help_params(project):
    project.write("site.yml", PARAMS)
    result = project.run("run", "--help-params", "site.yml")
    assert result.exit_code == 0
    assert "version  (string; pattern" in result.stdout
    assert "drain_seconds  (integer; min 0; max 600; default 30)" in result.stdout
    assert "db_password  (string; secret; required)" in result.stdout


DAG = """
- name: backup
  hosts: h1
  tasks:
    - shell: "sleep 0.5"
- name: report
  hosts: h2
  tasks:
    - shell: "sleep 0.5"
- name: upgrade
  hosts: h3
  needs: [backup]
  tasks:
    - debug: {msg: upgraded}
- name: announce
  hosts: h1
  needs: [upgrade, report]
  tasks:
    - debug: {msg: announced}
"""


def test_independent_plays_run_in_parallel_and_needs_orders_them(project):
    result, events = run(project, DAG)
    assert result.exit_code == 0, result.output
    times = {
        (e["event"], e["play"]): e["time"]
        for e in events
        if e["event"] in ("play_start", "play_end")
    }
    assert times[("play_start", "report")] < times[("play_end", "backup")], (
        "backup and report overlap"
    )
    assert times[("play_start", "upgrade")] >= times[("play_end", "backup")]
    assert times[("play_start", "announce")] >= max(
        times[("play_end", "upgrade")], times[("play_end", "report")]
    )
    assert debug_messages(events) == ["upgraded", "announced"]


def test_a_failed_play_skips_what_needs_it(project):
    result, events = run(
        project,
        DAG.replace('shell: "sleep 0.5"\n- name: report', "fail: {msg: no backup}\n- name: report"),
    )
    assert result.exit_code == 2
    skipped = {e["play"]: e["reason"] for e in events if e["event"] == "play_skipped"}
    assert skipped == {
        "upgrade": "needs 'backup', which failed",
        "announce": "needs 'upgrade', which skipped",
    }


@pytest.mark.parametrize(
    ("needs", "message"),
    [
        ("[announce]", "plays need each other in a cycle: backup -> announce -> upgrade -> backup"),
        ("[bakup]", "play 'backup' needs 'bakup', which is not a play of this playbook"),
    ],
)
def test_check_reports_bad_graphs_with_a_location(project, needs, message):
    project.write(
        "site.yml",
        DAG.replace(
            "- name: backup\n  hosts: h1\n", f"- name: backup\n  hosts: h1\n  needs: {needs}\n"
        ),
    )
    result = project.run("check", "site.yml", "-i", "hosts.ini")
    assert result.exit_code == 4
    assert result.stderr.splitlines()[0] == f"error: site.yml:1:3: {message}"


def test_retry_with_exponential_backoff(project, tmp_path):
    counter = tmp_path / "n"
    result, events = run(
        project,
        f"""
        - hosts: h1
          gather_facts: false
          tasks:
            - shell: "echo x >> {counter}; test $(wc -l < {counter}) -ge 4"
              retry: {{attempts: 5, delay: 0.1, backoff: exponential, max_delay: 0.3}}
        """,
    )
    assert result.exit_code == 0, result.output
    retries = [e for e in events if e["event"] == "retry"]
    assert [(e["attempt"], e["delay"], e["reason"]) for e in retries] == [
        (1, 0.1, "failed"),
        (2, 0.2, "failed"),
        (3, 0.3, "failed"),
    ]
    gaps = [b["time"] - a["time"] for a, b in itertools.pairwise(retries)]
    # Each gap is the wait plus the next attempt's own (short) run.
    assert 0.09 <= gaps[0] <= 0.5, gaps
    assert 0.19 <= gaps[1] <= 0.6, gaps
    final = next(e for e in events if e["event"] == "task_result")
    assert final["result"]["attempts"] == 4


def test_retry_only_on_the_listed_reasons(project):
    result, events = run(
        project,
        "- hosts: h1\n  tasks:\n    - fail: {msg: nope}\n"
        "      retry: {attempts: 3, delay: 0, on: [timeout]}\n",
    )
    assert result.exit_code == 2
    assert [e for e in events if e["event"] == "retry"] == []


def test_task_timeout_stops_the_process(project, tmp_path):
    marker = tmp_path / "still-running"
    started = time.monotonic()
    result, events = run(
        project,
        "- hosts: h1\n  gather_facts: false\n"
        f"  tasks:\n    - shell: 'sleep 60; touch {marker}'\n      timeout: 1s\n",
    )
    assert time.monotonic() - started < 30  # the 60 s command did not run to its end
    assert result.exit_code == 2
    (res,) = [e for e in events if e["event"] == "task_result"]
    assert res["status"] == "timeout"
    assert result.recap()["h1"]["failed"] == 1
    assert (
        subprocess.run(
            ["pgrep", "-f", f"touch {marker}"], capture_output=True, check=False
        ).returncode
        == 1
    )


def test_play_timeout(project):
    started = time.monotonic()
    result, events = run(
        project,
        "- hosts: web\n  timeout: 1s\n  tasks:\n    - shell: 'sleep 0.6'\n"
        "    - shell: 'sleep 60'\n    - debug: {msg: never}\n",
    )
    assert time.monotonic() - started < 30  # the deadline cut the 60 s task short
    assert result.exit_code == 2
    assert debug_messages(events) == []
    assert "timeout" in {e["status"] for e in events if e["event"] == "task_result"}


def test_max_failures_and_critical_false(project):
    playbook = """
    - hosts: web
      max_failures: 1
      tasks:
        - fail: {msg: optional}
          critical: false
        - fail: {msg: boom}
          when: inventory_hostname in ['h1', 'h2']
        - debug: {msg: "{{ inventory_hostname }} went on"}
    """
    result, events = run(project, playbook)
    assert result.exit_code == 2
    assert debug_messages(events) == [], "two failures pass max_failures: 1, so the play stops"
    warnings = [e["message"] for e in events if e["event"] == "warning"]
    assert any("critical: false" in w for w in warnings)
    assert result.recap()["h3"]["ignored"] == 1
    ok, _ = run(project, playbook.replace("max_failures: 1", "max_failures: 2"))
    assert debug_messages(ok.json_lines()) == ["h3 went on"]


def test_rollback_runs_in_reverse_after_a_failure_mid_batch(project):
    result, events = run(
        project,
        """
        - hosts: web
          serial: 2
          max_fail_percentage: 0
          tasks:
            - debug: {msg: "A {{ inventory_hostname }}"}
              rollback:
                - debug: {msg: "undo A {{ inventory_hostname }}"}
            - debug: {msg: "B {{ inventory_hostname }}"}
              rollback:
                - debug: {msg: "undo B {{ inventory_hostname }}"}
            - fail: {msg: broken}
              when: inventory_hostname == 'h2'
          rollback:
            - debug: {msg: "play rollback {{ inventory_hostname }}"}
        """,
    )
    assert result.exit_code == 2
    assert debug_messages(events, "h1") == [
        "A h1",
        "B h1",
        "undo B h1",
        "undo A h1",
        "play rollback h1",
    ]
    assert debug_messages(events, "h2") == [
        "A h2",
        "B h2",
        "undo B h2",
        "undo A h2",
        "play rollback h2",
    ]
    assert debug_messages(events, "h3") == [], "the second batch never started"
    assert [e["event"] for e in events if e["event"].startswith("rollback")] == [
        "rollback_start",
        "rollback_end",
    ]


def test_approval_times_out(project):
    playbook = """
    - hosts: web
      approval: {message: "Upgrade {{ play_hosts | length }} hosts?", timeout: 0.3, on_timeout: ON}
      tasks:
        - debug: {msg: go}
          run_once: true
    """
    result, events = run(project, playbook.replace("ON", "fail"))
    assert result.exit_code == 2
    (asked,) = [e for e in events if e["event"] == "approval"]
    assert asked["message"] == "Upgrade 3 hosts?"
    (answer,) = [e for e in events if e["event"] == "approval_result"]
    assert (answer["approved"], answer["timed_out"]) == (False, True)
    assert debug_messages(events) == []
    result, events = run(project, playbook.replace("ON", "continue"))
    assert result.exit_code == 0
    assert debug_messages(events) == ["go"]


def test_approval_step_runs_once_per_batch(project):
    result, events = run(
        project,
        "- hosts: web\n  gather_facts: false\n  tasks:\n"
        "    - approval: {message: ok?, timeout: 0.2, on_timeout: continue}\n"
        "    - debug: {msg: after}\n",
    )
    assert result.exit_code == 0, result.output
    assert len([e for e in events if e["event"] == "approval"]) == 1
    assert debug_messages(events) == ["after"] * 3
    # The answer stands for every host of the batch, and each host counts it.
    assert result.recap() == {h: {**result.recap()[h], "ok": 2} for h in ("h1", "h2", "h3")}
    approvals = [e for e in events if e["event"] == "task_result" and e["action"] == "approval"]
    assert sorted(e["host"] for e in approvals) == ["h1", "h2", "h3"]


def test_a_rejected_approval_step_fails_every_host_of_the_batch(project):
    result, events = run(
        project,
        "- hosts: web\n  gather_facts: false\n  serial: 2\n  tasks:\n"
        "    - approval: {message: ok?, timeout: 0.1, on_timeout: fail}\n"
        "    - debug: {msg: after}\n",
    )
    assert result.exit_code == 2, result.output
    assert debug_messages(events) == []
    recap = result.recap()
    assert sorted(recap) == ["h1", "h2"], "the second batch never started"
    assert all(counts["failed"] == 1 for counts in recap.values()), recap


def _copy_examples(corral_project):
    import shutil
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    shutil.copytree(root / "playbooks", corral_project.path / "playbooks")
    shutil.copytree(root / "inventory", corral_project.path / "inventory")


def test_rolling_upgrade_example_upgrades_every_host(corral_project):
    _copy_examples(corral_project)
    fleet = corral_project.path / "fleet"
    args = ("run", "playbooks/rolling-demo.yml", "-i", "inventory/local.yml", "--output", "json")
    result = corral_project.run(
        *args, "-e", f"fleet_dir={fleet}", "-p", "version=2.0.0", "-p", "auto_approve=true"
    )
    assert result.exit_code == 0, result.output
    assert {p.parent.name: p.read_text() for p in fleet.glob("web*/version")} == {
        f"web{i}": "2.0.0\n" for i in range(1, 5)
    }
    starts = [
        e["hosts"]
        for e in result.json_lines()
        if e["event"] == "task_start" and e["task"] == "Install the release"
    ]
    assert starts == [1, 2, 1], "a canary, then half the fleet, then the rest"


def test_rolling_upgrade_example_rolls_back_a_failed_batch(corral_project):
    _copy_examples(corral_project)
    fleet = corral_project.path / "fleet"
    result = corral_project.run(
        "run",
        "playbooks/rolling-demo.yml",
        "-i",
        "inventory/local.yml",
        "--output",
        "json",
        "-e",
        f"fleet_dir={fleet}",
        "-p",
        "version=2.0.0",
        "-p",
        "auto_approve=true",
        "-p",
        "fail_host=web3",
    )
    assert result.exit_code == 2
    versions = {p.parent.name: p.read_text() for p in fleet.glob("web*/version")}
    assert versions == {f"web{i}": "1.0.0\n" for i in range(1, 5)}, "every upgraded host went back"
    assert sorted(p.name for p in (fleet / "pool").iterdir()) == ["web1", "web2", "web3", "web4"]
    plan = corral_project.run(
        "plan",
        "playbooks/rolling-demo.yml",
        "-i",
        "inventory/local.yml",
        "-p",
        "version=2.0.0",
        "--output",
        "json",
    )
    assert plan.exit_code == 0, plan.output
    import json

    described = json.loads(plan.stdout)
    assert described["levels"] == [
        ["Prepare the fleet"],
        ["Back up the current release"],
        ["Rolling upgrade of the web tier"],
    ]
    assert described["plays"][2]["batches"] == [["web1"], ["web2", "web3"], ["web4"]]
    # The run above is in the store: each play has an estimate from it.
    assert all(play["estimate"] is not None for play in described["plays"])
    assert described["estimate"] > 0


@pytest.mark.parametrize("reject", [False, True], ids=["approve", "reject"])
def test_approval_given_from_another_process(corral_project, reject):
    import json
    import sys
    from pathlib import Path

    corral_project.write("hosts.ini", INVENTORY)
    corral_project.write(
        "site.yml",
        """
        - hosts: web
          approval: {message: "Go ahead?", timeout: 60}
          tasks:
            - debug: {msg: approved and running}
              run_once: true
        """,
    )
    corral = str(Path(sys.executable).with_name("corral"))
    env = corral_project._environ(None)
    proc = subprocess.Popen(
        [corral, "run", "site.yml", "-i", "hosts.ini", "--output", "json"],
        cwd=corral_project.path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        answer = None
        while time.monotonic() < deadline:
            answer = corral_project.run(
                "approve",
                "last",
                *(["--reject"] if reject else []),
                "--comment",
                "checked the dashboards",
            )
            if answer.exit_code == 0:
                break
            time.sleep(0.2)
        assert answer is not None
        assert answer.exit_code == 0, answer.output
        assert answer.stdout.startswith("rejected: Go ahead?" if reject else "approved: Go ahead?")
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    events = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    (decision,) = [e for e in events if e["event"] == "approval_result"]
    assert decision["approved"] is (not reject)
    assert decision["comment"] == "checked the dashboards"
    assert "@" in decision["by"]
    assert proc.returncode == (2 if reject else 0), err
    assert debug_messages(events) == ([] if reject else ["approved and running"])
    # The decision is kept in the run store, with who made it and when.
    import sqlite3

    db = sqlite3.connect(Path(corral_project.env["CORRAL_HOME"]) / "corral.db")
    try:
        rows = db.execute("SELECT status, decided_by, comment, decided FROM approvals").fetchall()
    finally:
        db.close()
    assert len(rows) == 1
    status, by, comment, decided = rows[0]
    assert (status, comment) == ("rejected" if reject else "approved", "checked the dashboards")
    assert "@" in by
    assert decided is not None


def test_approval_answered_at_an_interactive_terminal(corral_project):
    """On a terminal the run asks `[y/N]` and takes the answer typed there."""
    import os
    import pty
    import sys
    from pathlib import Path

    corral_project.write("hosts.ini", INVENTORY)
    corral_project.write(
        "site.yml",
        """
        - hosts: h1
          approval: {message: "Proceed with h1?", timeout: 60}
          tasks:
            - debug: {msg: went ahead}
        """,
    )
    corral = str(Path(sys.executable).with_name("corral"))
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [corral, "run", "site.yml", "-i", "hosts.ini"],
        cwd=corral_project.path,
        env=corral_project._environ(None),
        stdin=follower,
        stdout=follower,
        stderr=follower,
    )
    os.close(follower)
    seen = b""
    try:
        deadline = time.monotonic() + 30
        while b"[y/N]" not in seen and time.monotonic() < deadline:
            seen += os.read(leader, 4096)
        assert b"Proceed with h1? [y/N]" in seen, seen.decode(errors="replace")
        os.write(leader, b"y\n")
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                seen += os.read(leader, 4096)
            except OSError:
                break
        assert proc.wait(timeout=30) == 0, seen.decode(errors="replace")
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(leader)
    text = seen.decode(errors="replace")
    assert "went ahead" in text
    assert "approved by" in text


def test_an_approval_forbidding_its_starter_refuses_the_same_user(corral_project):
    import sys
    from pathlib import Path

    corral_project.write("hosts.ini", INVENTORY)
    corral_project.write(
        "site.yml",
        """
        - hosts: web
          approval: {message: "Four eyes?", timeout: 2, forbid_starter: true}
          tasks:
            - debug: {msg: running}
        """,
    )
    corral = str(Path(sys.executable).with_name("corral"))
    proc = subprocess.Popen(
        [corral, "run", "site.yml", "-i", "hosts.ini"],
        cwd=corral_project.path,
        env=corral_project._environ(None),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        answer = corral_project.run("approve", "last")
        while answer.exit_code != 5 or "forbids" not in answer.stderr:
            assert time.monotonic() < deadline, answer.output
            time.sleep(0.2)
            answer = corral_project.run("approve", "last")
        assert "started run" in answer.stderr
        assert "hint: someone else approves it" in answer.stderr
        assert proc.wait(timeout=30) == 2  # nobody else answered: timed out, rejected
    finally:
        if proc.poll() is None:
            proc.kill()
