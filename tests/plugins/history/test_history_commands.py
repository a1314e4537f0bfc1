"""corral history, show, logs, stats, report --format json and prune, over real recorded runs."""

from __future__ import annotations

import json

import pytest
from store_runs import record_run

INVENTORY = """
all:
  vars: {ansible_connection: local}
  hosts:
    web1: {}
    web2: {}
    db1: {}
"""
PLAYBOOK = """
- name: deploy
  hosts: all
  gather_facts: false
  tasks:
    - name: say hello
      debug: {msg: "hello {{ inventory_hostname }}"}
    - name: take a while
      shell: "sleep 0.2"
      changed_when: false
    - name: break db
      shell: "echo 'disk full on {{ inventory_hostname }}' >&2; exit 3"
      when: inventory_hostname == 'db1'
    - name: after
      debug: {msg: done}
"""


@pytest.fixture
def project(corral_project):
    corral_project.write("hosts.yml", INVENTORY)
    corral_project.write("deploy.yml", PLAYBOOK)
    corral_project.write(
        "other.yml", "- hosts: web1\n  gather_facts: false\n  tasks:\n    - debug: {msg: hi}\n"
    )
    return corral_project


def test_history_lists_runs_newest_first_with_filters(project):
    code, deploy_id = record_run(project, "deploy.yml", "hosts.yml")
    assert code == 2
    _, other_id = record_run(project, "other.yml", "hosts.yml")
    result = project.run("history")
    assert result.exit_code == 0, result.output
    result.fnmatch_lines(
        [
            "RUN*STARTED*STATUS*DURATION*HOSTS*FAILED*PLAYBOOK*BY",
            f"{other_id}*succeeded*1*0*other.yml*",
            f"{deploy_id}*failed (2)*3*1*deploy.yml*",
        ]
    )
    assert [r["id"] for r in json.loads(project.run("history", "--json").stdout)] == [
        other_id,
        deploy_id,
    ]
    by_status = json.loads(project.run("history", "--status", "failed", "--json").stdout)
    assert [r["id"] for r in by_status] == [deploy_id]
    by_host = json.loads(project.run("history", "--host", "db1", "--json").stdout)
    assert [r["id"] for r in by_host] == [deploy_id]
    by_playbook = json.loads(project.run("history", "--playbook", "other.yml", "--json").stdout)
    assert [r["id"] for r in by_playbook] == [other_id]
    assert json.loads(project.run("history", "--since", "1h", "--json").stdout)
    assert project.run("history", "--since", "2000-01-01", "--json").exit_code == 0
    bad = project.run("history", "--since", "yesterday-ish")
    assert bad.exit_code == 5
    assert "neither an age nor a date" in bad.stderr


def test_show_gives_recap_failures_with_output_and_slowest_tasks(project):
    _, run_id = record_run(project, "deploy.yml", "hosts.yml")
    result = project.run("show", run_id[:12])
    assert result.exit_code == 0, result.output
    result.fnmatch_lines(
        [
            f"run*{run_id}*failed (exit 2)",
            "playbook*deploy.yml*",
            "RECAP",
            "db1*ok=2*failed=1*",
            "web1*ok=3*failed=0*skipped=1*",
            "FAILURES (1)",
            "failed: ?db1? TASK ?break db? after 1 attempt(s)*",
            "*rc: 3",
            "*stderr: disk full on db1",
            "SLOWEST TASKS",
            "*take a while*",
        ]
    )
    summary = json.loads(project.run("show", "last", "--json").stdout)
    assert summary["run"]["id"] == run_id
    assert summary["failures"][0]["output"]["stderr"] == "disk full on db1"
    assert summary["slowest_tasks"][0]["task"] == "take a while"
    assert summary["slowest_tasks"][0]["max_duration"] >= 0.2


def test_show_unknown_run_is_a_usage_error(project):
    result = project.run("show", "20990101T000000-ffffff")
    assert result.exit_code == 5
    assert "no run '20990101T000000-ffffff' in the store" in result.stderr


def test_logs_replays_the_output_filtered_by_host_and_task(project):
    _, run_id = record_run(project, "deploy.yml", "hosts.yml")
    result = project.run("logs", run_id)
    assert result.exit_code == 0, result.output
    result.fnmatch_lines(
        [
            "PLAY ?deploy?*",
            "TASK ?say hello?*",
            "ok: ?web1?*",
            "TASK ?break db?*",
            "fatal: ?db1?*",
            "PLAY RECAP*",
        ]
    )
    only = project.run("logs", run_id, "--host", "web2", "--task", "SAY*")
    assert "ok: [web2]" in only.stdout
    assert "web1" not in only.stdout
    assert "TASK [after]" not in only.stdout
    events = [
        json.loads(line)
        for line in project.run("logs", run_id, "--json", "--host", "db1").stdout.splitlines()
    ]
    results = [e for e in events if e["event"] == "task_result"]
    assert {e["host"] for e in results} == {"db1"}
    assert events[-1]["event"] == "recap"


def test_stats_per_playbook_slow_tasks_and_failing_hosts(project):
    for _ in range(2):
        record_run(project, "deploy.yml", "hosts.yml")
    record_run(project, "other.yml", "hosts.yml")
    figures = json.loads(project.run("stats", "--json").stdout)
    deploy = next(p for p in figures["playbooks"] if p["playbook"] == "deploy.yml")
    assert (deploy["runs"], deploy["failed"], deploy["success_rate"]) == (2, 2, 0.0)
    assert deploy["p50_duration"] <= deploy["p95_duration"]
    assert figures["slowest_tasks"][0]["task"] == "take a while"
    assert figures["failing_hosts"] == [
        {"host": "db1", "runs": 2, "failed": 2, "unreachable": 0, "failure_rate": 1.0}
    ]
    text = project.run("stats")
    text.fnmatch_lines(
        [
            "PLAYBOOKS",
            "*deploy.yml*2*0%*",
            "SLOWEST TASKS*",
            "*take a while*",
            "HOSTS THAT FAIL MOST",
            "db1*2*2*0*100%",
        ]
    )


def test_report_json_has_every_unit_with_timing(project):
    _, run_id = record_run(project, "deploy.yml", "hosts.yml")
    result = project.run("report", run_id, "--format", "json", "-o", "report.json")
    assert result.exit_code == 0, result.output
    data = json.loads((project.path / "report.json").read_text())
    assert data["run"]["id"] == run_id
    assert len(data["units"]) == 11  # 4 tasks x 3 hosts, but db1 stopped after its failure
    assert all(u["ended"] >= u["started"] for u in data["units"])


def test_prune_older_than(project):
    record_run(project, "other.yml", "hosts.yml")
    assert project.run("prune", "--older-than", "1d").stdout.startswith("deleted 0 run(s)")
    from store_runs import environ

    from corral.store import open_store

    store = open_store(environ(project))
    store.conn.execute("UPDATE runs SET started = started - 40 * 86400")
    store.close()
    assert (
        "would delete 1 run(s)" in project.run("prune", "--older-than", "30d", "--dry-run").stdout
    )
    assert project.run("prune", "--older-than", "30d").stdout.startswith(
        "deleted 1 run(s), 1 unit(s)"
    )
    assert project.run("history").stdout.strip() == "no runs recorded yet"
    assert project.run("prune", "--older-than", "soon").exit_code == 5


def test_commands_refuse_when_the_store_is_off(project):
    result = project.run("history", env={"CORRAL_STORE": "off"})
    assert result.exit_code == 5
    assert "the run store is off" in result.stderr
