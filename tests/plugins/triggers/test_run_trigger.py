"""The ``run`` trigger: a playbook's run ending (as the run store records it) fires another.

Real runs of real playbooks through the CLI write the store; the trigger watches it from
a thread of its own, as the server will arm it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import pytest

from corral import TriggerContext
from corral.testing import CorralProject
from corral_plugins.triggers.runs import watch

BACKUP = "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - STEP: {msg: x}\n"


@pytest.fixture
def project(corral_project: CorralProject) -> CorralProject:
    corral_project.write("inventory.ini", "localhost ansible_connection=local\n")
    corral_project.write("backup.yml", BACKUP.replace("STEP", "debug"))
    corral_project.write("broken-backup.yml", BACKUP.replace("STEP", "fail"))
    return corral_project


@contextmanager
def armed(project: CorralProject, args: Mapping[str, Any]) -> Iterator[list[dict[str, Any]]]:
    fired: list[dict[str, Any]] = []
    ctx = TriggerContext(
        "restore.yml", lambda payload: fired.append(dict(payload)), environ=project._environ(None)
    )
    thread = threading.Thread(target=watch, args=(ctx, {"poll": 0.05, **args}))
    thread.start()
    time.sleep(0.3)  # the first look: runs ended before now do not count
    try:
        yield fired
    finally:
        ctx.stopping.set()
        thread.join(timeout=10)
        assert not thread.is_alive()


def run(project: CorralProject, playbook: str) -> int:
    return project.run("run", playbook, "-i", "inventory.ini").exit_code


def wait_for(fired: list[dict[str, Any]], count: int) -> None:
    deadline = time.monotonic() + 10
    while len(fired) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # and nothing more comes


def test_a_success_fires_once_and_earlier_runs_do_not(project: CorralProject) -> None:
    assert run(project, "backup.yml") == 0  # before the trigger is armed
    with armed(project, {"playbook": "backup.yml"}) as fired:
        assert run(project, "backup.yml") == 0
        assert run(project, "broken-backup.yml") == 2  # another playbook
        wait_for(fired, 1)
    assert len(fired) == 1
    assert fired[0]["status"] == "succeeded"
    assert fired[0]["playbook"] == "backup.yml"
    history = json.loads(project.run("history", "--json").stdout)
    newest_backup = next(r for r in history if r["playbook"] == "backup.yml")
    assert fired[0]["run_id"] == newest_backup["id"]


def test_on_failure_and_on_any(project: CorralProject) -> None:
    with armed(project, {"playbook": "broken-backup.yml", "on": "failure"}) as failures:
        with armed(project, {"playbook": "*backup.yml", "on": "any"}) as every:
            assert run(project, "broken-backup.yml") == 2
            assert run(project, "backup.yml") == 0
            wait_for(every, 2)
        wait_for(failures, 1)
    assert [f["status"] for f in failures] == ["failed"]
    assert sorted(f["status"] for f in every) == ["failed", "succeeded"]


def test_run_triggers_are_checked_on_plays(project: CorralProject) -> None:
    play = "- hosts: localhost\n  triggers:\n    - run: %s\n  tasks: []\n"
    project.write("restore.yml", play % "{playbook: backup.yml, on: failure}")
    ok = project.run("check", "restore.yml", "-i", "inventory.ini")
    assert ok.exit_code == 0, ok.stderr
    assert "trigger: run (playbook=backup.yml, on=failure) on play" in ok.stdout
    project.write("restore.yml", play % "{playbook: backup.yml, on: sometimes}")
    bad = project.run("check", "restore.yml", "-i", "inventory.ini")
    assert bad.exit_code == 4
    assert "trigger 'run': on: 'sometimes' is not one of" in bad.stderr
