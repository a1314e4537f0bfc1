"""``no_log: true`` hides a loop's items too, as Ansible does, in every sink.

Issue 14, item 4: each item of a ``no_log`` loop was shown in the console
(``(item=VALUE)``), in the JSON events and in the store's units table.
"""

from __future__ import annotations

import json
import sqlite3

import pytest
from secret_sinks import history_outputs, home, leaks, run_ids, store_bytes

from corral.testing import CorralProject

PLAYBOOK = """
- name: users
  hosts: all
  # Gathered facts would hold USERS in ansible_env: docs/security.md, facts.
  gather_facts: false
  tasks:
    - name: set passwords
      shell: "echo {{ item.name }} >> {{ out }}"
      loop: "{{ lookup('env', 'USERS') | from_json }}"
      loop_control: {label: "{{ item.name }}:{{ item.pw }}"}
      register: created
      no_log: true
    - name: a loop that may be shown
      debug: {msg: "{{ item }}"}
      loop: [visible-item]
"""

USERS = [{"name": "alice", "pw": "Item-Pw-8kk"}, {"name": "bob", "pw": "Item-Pw-9ll"}]


@pytest.fixture
def project(corral_project: CorralProject) -> CorralProject:
    corral_project.write("site.yml", PLAYBOOK)
    corral_project.write("hosts.ini", "localhost ansible_connection=local\n")
    corral_project.env["USERS"] = json.dumps(USERS)
    return corral_project


def run(project: CorralProject, output: str) -> str:
    out = project.path / "out.txt"
    out.unlink(missing_ok=True)
    result = project.run_subprocess(
        "run", "site.yml", "-i", "hosts.ini", "-e", f"out={out}", "--output", output, "-v"
    )
    assert result.exit_code == 0, result.output
    assert out.read_text().split() == ["alice", "bob"]
    return result.output


def test_no_log_loop_items_are_hidden_in_the_console(project: CorralProject) -> None:
    console = run(project, "console")
    assert "Item-Pw" not in console
    assert "alice" not in console
    assert console.count("(item=********)") == 2, console
    assert "(item=visible-item)" in console, "other loops still show their items"


def test_no_log_loop_items_are_hidden_in_json_events(project: CorralProject) -> None:
    output = run(project, "json")
    items = [
        event
        for event in map(json.loads, output.splitlines())
        if event["event"] == "item_result" and event["task"] == "set passwords"
    ]
    assert [event["item"] for event in items] == ["********", "********"]
    assert "Item-Pw" not in output
    assert "alice" not in output


def test_no_log_loop_items_are_not_stored(project: CorralProject) -> None:
    console = run(project, "console")
    output = run(project, "json")
    sinks: dict[str, str | bytes] = {"console": console, "json": output}
    sinks.update(store_bytes(project))
    sinks.update(history_outputs(project, run_ids(project)))
    secrets = {"pw 1": "Item-Pw-8kk", "pw 2": "Item-Pw-9ll", "name": "alice"}
    assert leaks(secrets, sinks) == []
    conn = sqlite3.connect(home(project) / "corral.db")
    try:
        rows = conn.execute(
            "SELECT data FROM units WHERE task = 'set passwords' AND kind = 'item_result'"
        ).fetchall()
    finally:
        conn.close()
    assert len(rows) == 4
    assert all(json.loads(data)["item"] == "********" for (data,) in rows)
