"""Errors that stop a run, next to ansible-core on the same playbook.

ansible-playbook ends such runs with its own error (exit 1), so these cases are not in
the differential corpus (tests/compat/playbooks/): here each playbook in
``tests/compat/errors/`` runs through both tools and the test checks what corral does
where Ansible stops. docs/ansible-compat.md lists the differences.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

COMPAT = Path(__file__).resolve().parent / "compat"
BIN = Path(sys.executable).parent
MISSING = (
    "The requested handler '{}' was not found in either the main handlers list "
    "nor in the listening handlers list"
)


def env(tmp: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "CORRAL_"))}
    return {
        **clean,
        "HOME": str(tmp),
        "NO_COLOR": "1",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_LOCALHOST_WARNING": "0",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "ANSIBLE_LOCAL_TEMP": str(tmp / "ansible-local"),
        "CORRAL_HOME": str(tmp / "corral-home"),
    }


def run(tool: str, playbook: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    path = COMPAT / "errors" / playbook
    inventory = COMPAT / "one.ini"
    argv = [str(BIN / "ansible-playbook"), "-i", str(inventory), str(path)]
    if tool == "corral":
        argv = [str(BIN / "corral"), "run", str(path), "-i", str(inventory), "--output", "json"]
    return subprocess.run(
        argv, cwd=tmp, env=env(tmp), capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture
def ansible_available() -> None:
    if not (BIN / "ansible-playbook").exists():
        pytest.fail("ansible-core is a test dependency: pip install -e '.[dev]'")


def test_a_templated_notify_that_reaches_no_handler(tmp_path, ansible_available):
    ansible = run("ansible", "notify_templated_missing.yml", tmp_path)
    corral = run("corral", "notify_templated_missing.yml", tmp_path)
    message = MISSING.format("restart apx")
    assert ansible.returncode == 1
    assert message in ansible.stdout + ansible.stderr
    # corral fails the task with the same message; the host goes no further.
    assert corral.returncode == 2, corral.stderr
    events = [json.loads(line) for line in corral.stdout.splitlines()]
    results = [(e["task"], e["status"]) for e in events if e["event"] == "task_result"]
    assert results == [("deploy", "failed")]
    (deploy,) = [e for e in events if e["event"] == "task_result"]
    assert deploy["result"]["msg"] == message
    for output in (ansible.stdout, corral.stdout):
        assert "restarted" not in output
        assert '"msg": "after"' not in output


def test_a_misspelt_handler_name(tmp_path, ansible_available):
    ansible = run("ansible", "notify_static_missing.yml", tmp_path)
    corral = run("corral", "notify_static_missing.yml", tmp_path)
    assert ansible.returncode == 1
    assert MISSING.format("restart ap") in ansible.stdout + ansible.stderr
    # corral says so before any host is touched, where the name is written.
    assert corral.returncode == 4
    # With --output json the error is the one event on stdout: no run started.
    (event,) = [json.loads(line) for line in corral.stdout.splitlines()]
    assert (event["event"], event["line"], event["col"]) == ("error", 6, 7)
    assert "notify_static_missing.yml:6:7: task 'deploy' notifies 'restart ap'" in corral.stderr
    assert "did you mean 'restart app'?" in corral.stderr


def test_a_removed_include_is_refused_with_what_replaced_it(tmp_path, ansible_available):
    theirs = run("ansible", "removed_include.yml", tmp_path)
    assert theirs.returncode != 0
    assert "include" in theirs.stdout + theirs.stderr
    assert "TASK [debug]" not in theirs.stdout  # refused before running, as corral does
    mine = run("corral", "removed_include.yml", tmp_path)
    assert mine.returncode == 4
    event = json.loads(mine.stdout.splitlines()[-1])
    assert event["message"] == "unknown step type 'include'"
    assert event["line"] == 6
    assert "include_tasks" in event["hint"]
    assert "import_playbook" in event["hint"]
