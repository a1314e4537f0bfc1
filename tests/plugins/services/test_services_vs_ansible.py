"""The same service playbooks through ansible-playbook and corral, on fresh twin containers.

Each tool runs the playbook twice on its own host (``--limit``): per task, both must report
the same changed/ok on the first run and on the second (idempotent) run, and leave the
services in the same state.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from debian_hosts import DebianFleet, FleetFactory, ssh_control_dir
from services_helpers import INIT_SCRIPT, UNIT

from corral.testing import CorralProject

BIN = Path(sys.executable).parent
COMPAT_CALLBACKS = Path(__file__).resolve().parents[2] / "compat" / "callback_plugins"

SYSTEMD_TASKS: list[dict[str, Any]] = [
    {
        "name": "unit file",
        "copy": {"dest": "/usr/lib/systemd/system/corral-diff.service", "content": UNIT},
    },
    {
        "name": "started",
        "systemd_service": {
            "name": "corral-diff",
            "state": "started",
            "enabled": True,
            "daemon_reload": True,
        },
    },
    {"name": "cron stopped", "service": {"name": "cron", "state": "stopped"}},
    {"name": "cron enabled", "service": {"name": "cron", "state": "started", "enabled": True}},
    {"name": "mask absent", "systemd": {"name": "corral-never", "masked": True}},
    {"name": "restart", "systemd": {"name": "corral-diff", "state": "restarted"}},
    {"name": "reload only", "systemd": {"name": "corral-diff", "daemon_reload": True}},
    {"name": "facts", "service_facts": {}},
    {
        "name": "missing",
        "service": {"name": "corral-missing", "state": "started"},
        "ignore_errors": True,
    },
]

SYSV_TASKS: list[dict[str, Any]] = [
    {
        "name": "init script",
        "copy": {"dest": "/etc/init.d/corral-diff", "content": INIT_SCRIPT, "mode": "0755"},
    },
    {"name": "started", "service": {"name": "corral-diff", "state": "started", "enabled": True}},
    {"name": "cron", "service": {"name": "cron", "state": "started"}},
    {"name": "restart", "service": {"name": "corral-diff", "state": "restarted"}},
    {"name": "cron disabled", "service": {"name": "cron", "enabled": False}},
    {"name": "sysvinit running", "sysvinit": {"name": "corral-diff", "state": "started"}},
    {"name": "sysvinit stop", "sysvinit": {"name": "cron", "state": "stopped"}},
    {
        "name": "sysvinit levels",
        "sysvinit": {"name": "cron", "enabled": True, "runlevels": [3, "5"]},
    },
    {"name": "sysvinit again", "sysvinit": {"service": "cron", "enabled": True, "runlevels": [3]}},
    {"name": "facts", "service_facts": {}},
    {
        "name": "missing",
        "service": {"name": "corral-missing", "state": "started"},
        "ignore_errors": True,
    },
]


def write_playbook(path: Path, tasks: list[dict[str, Any]]) -> None:
    play = {"hosts": "debian", "gather_facts": True, "become": True, "tasks": tasks}
    path.write_text(yaml.safe_dump([play], sort_keys=False))


def ansible_run(
    playbook: Path, fleet: DebianFleet, host: str, tmp: Path, *options: str
) -> dict[str, str]:
    """ansible-playbook on one host, its task results written by the compat callback."""
    events = tmp / "ansible-events.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "CORRAL_"))}
    env.update(
        ANSIBLE_HOME=str(tmp / "ansible-home"),
        ANSIBLE_LOCAL_TEMP=str(tmp / "ansible-local"),
        ANSIBLE_CALLBACK_PLUGINS=str(COMPAT_CALLBACKS),
        ANSIBLE_CALLBACKS_ENABLED="compat_events",
        ANSIBLE_PIPELINING="True",
        ANSIBLE_NOCOLOR="1",
        CORRAL_COMPAT_EVENTS=str(events),
        ANSIBLE_SSH_CONTROL_PATH_DIR=ssh_control_dir(),
    )
    argv = [str(BIN / "ansible-playbook"), "-i", str(fleet.inventory), "--limit", host]
    done = subprocess.run(
        [*argv, *options, str(playbook)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert events.exists(), done.stdout + done.stderr
    lines = [json.loads(line) for line in events.read_text().splitlines()]
    return task_statuses(lines)


def corral_run(
    project: CorralProject, playbook: Path, fleet: DebianFleet, host: str, *options: str
) -> dict[str, str]:
    result = project.run(
        "run",
        str(playbook),
        "-i",
        str(fleet.inventory),
        "--limit",
        host,
        "--output",
        "json",
        *options,
    )
    return task_statuses(result.json_lines())


def task_statuses(events: list[dict[str, Any]]) -> dict[str, str]:
    return {
        event["task"]: event["status"]
        for event in events
        if event.get("event") == "task_result" and event["task"] != "Gathering Facts"
    }


def compare(
    fleet: DebianFleet, project: CorralProject, tmp: Path, tasks: list[dict[str, Any]]
) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    playbook = tmp / "services.yml"
    write_playbook(playbook, tasks)
    # --check on the fresh host first (nothing is written: the unit or script is missing
    # when its service task runs), then two real runs.
    runs = [("--check",), (), ()]
    theirs = [ansible_run(playbook, fleet, fleet.hosts[0].name, tmp, *o) for o in runs]
    mine = [corral_run(project, playbook, fleet, fleet.hosts[1].name, *o) for o in runs]
    return theirs, mine


def state(fleet: DebianFleet, host: str, script: str) -> str:
    return fleet.exec(host, ["sh", "-c", script]).stdout


def test_systemd_steps_match_ansible(
    debian_fleet: FleetFactory, corral_project: CorralProject, tmp_path: Path
) -> None:
    fleet = debian_fleet(2, systemd=True, prefix="dsd")
    theirs, mine = compare(fleet, corral_project, tmp_path, SYSTEMD_TASKS)
    assert mine == theirs
    assert theirs[0]["started"] == "failed"  # --check: the unit file was not written
    assert theirs[2]["started"] == "ok", theirs
    assert theirs[2]["restart"] == "changed"
    probe = (
        "for u in corral-diff cron corral-never; do "
        "systemctl is-active $u; systemctl is-enabled $u; done"
    )
    assert state(fleet, "dsd1", probe) == state(fleet, "dsd2", probe)


def test_sysv_steps_match_ansible(
    debian_fleet: FleetFactory, corral_project: CorralProject, tmp_path: Path
) -> None:
    fleet = debian_fleet(2, prefix="dsv")
    theirs, mine = compare(fleet, corral_project, tmp_path, SYSV_TASKS)
    assert mine == theirs
    assert theirs[2]["started"] == "ok", theirs
    # "cron disabled" takes cron out of every runlevel before: enabled again each run.
    assert [run["sysvinit levels"] for run in theirs[1:]] == ["changed", "changed"], theirs
    assert [run["sysvinit again"] for run in theirs[1:]] == ["ok", "ok"], theirs
    assert [run["sysvinit stop"] for run in theirs[1:]] == ["changed", "changed"], theirs
    probe = "service corral-diff status; service cron status; ls /etc/rc2.d /etc/rc3.d /etc/rc5.d"
    assert state(fleet, "dsv1", probe) == state(fleet, "dsv2", probe)
