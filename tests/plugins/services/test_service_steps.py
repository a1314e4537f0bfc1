"""The service steps without a service manager: bad input, and reading the managers' output.

Bad input fails before any command runs on the host (the local connection here).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from corral.testing import CorralProject
from corral_plugins.services.facts import parse_service_listing
from corral_plugins.services.systemd import parse_systemctl_show

LOCAL = "here ansible_connection=local\n"


@pytest.mark.parametrize(
    ("task", "message"),
    [
        ("service: name=cron", "one of the following is required: state, enabled"),
        (
            "systemd: name=cron",
            "one of the following is required: state, enabled, masked, daemon_reload, "
            "daemon_reexec",
        ),
        ("systemd: state=started", "missing parameter(s) required by 'state': name"),
        (
            "systemd_service: name=cron* state=started",
            "This module does not currently support using glob patterns, found '*' in "
            "service name: cron*",
        ),
    ],
)
def test_bad_input_is_one_clear_error(
    corral_project: CorralProject, tmp_path: Path, task: str, message: str
) -> None:
    corral_project.env.update({"CORRAL_STORE": "off", "HOME": str(tmp_path)})
    corral_project.write("hosts.ini", LOCAL)
    corral_project.write(
        "site.yml", f"- hosts: all\n  gather_facts: false\n  tasks:\n    - {task}\n"
    )
    result = corral_project.run("run", "site.yml", "-i", "hosts.ini", "--output", "json")
    assert result.exit_code == 2, result.output
    failed = [e["result"] for e in result.json_lines() if e.get("event") == "task_result"]
    assert failed[0]["msg"] == message


def test_a_bad_state_is_refused_before_the_run(
    corral_project: CorralProject, tmp_path: Path
) -> None:
    corral_project.env.update({"CORRAL_STORE": "off", "HOME": str(tmp_path)})
    corral_project.write("hosts.ini", LOCAL)
    corral_project.write(
        "site.yml",
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - service: name=cron state=up\n",
    )
    result = corral_project.run("check", "site.yml", "-i", "hosts.ini")
    assert result.exit_code != 0
    assert "state" in result.output


def test_the_pre_run_check_knows_service_facts_sets_services(
    corral_project: CorralProject, tmp_path: Path
) -> None:
    corral_project.env.update({"CORRAL_STORE": "off", "HOME": str(tmp_path)})
    corral_project.write("hosts.ini", LOCAL)
    corral_project.write(
        "site.yml",
        """
- hosts: all
  gather_facts: false
  tasks:
    - service_facts:
    - debug: {msg: "{{ services | length }} {{ ansible_facts.services | length }}"}
""",
    )
    result = corral_project.run("check", "site.yml", "-i", "hosts.ini")
    assert result.exit_code == 0, result.output


def test_systemctl_show_is_parsed_as_ansible_does() -> None:
    lines = [
        "Id=cron.service",
        "Description={ starts with a brace",
        "ExecStart={ path=/usr/sbin/cron ; argv[]=/usr/sbin/cron -f ;",
        "  status=0/0 }",
        "ActiveState=active",
        "not a property",
    ]
    assert parse_systemctl_show(lines) == {
        "Id": "cron.service",
        "Description": "{ starts with a brace",
        "ExecStart": "{ path=/usr/sbin/cron ; argv[]=/usr/sbin/cron -f ;\n  status=0/0 }",
        "ActiveState": "active",
    }


def test_service_listings_are_read_as_ansible_reads_them() -> None:
    output = """\
@@ sysv
 [ + ]  cron
 [ - ]  procps
 [ ? ]  hwclock.sh
@@ units
cron.service   loaded    active   running Regular background program processing daemon
ghost.service  not-found inactive dead    ghost.service
@@ unit-files
UNIT FILE      STATE   PRESET
cron.service   enabled enabled
ghost.service  masked  enabled
idle.service   disabled enabled
@@ show idle.service
ActiveState=inactive
"""
    services = parse_service_listing(output)
    assert services == {
        "cron": {"name": "cron", "state": "running", "source": "sysv"},
        "procps": {"name": "procps", "state": "stopped", "source": "sysv"},
        "cron.service": {
            "name": "cron.service",
            "state": "running",
            "status": "enabled",
            "source": "systemd",
        },
        "ghost.service": {
            "name": "ghost.service",
            "state": "stopped",
            "status": "not-found",
            "source": "systemd",
        },
        "idle.service": {
            "name": "idle.service",
            "state": "inactive",
            "status": "disabled",
            "source": "systemd",
        },
    }


def test_openrc_listings() -> None:
    output = """\
@@ openrc-status
 sshd started
 crond stopped
 orphan started
@@ openrc-update
 sshd | default
 crond |
"""
    assert parse_service_listing(output) == {
        "sshd": {"name": "sshd", "runlevels": ["default"], "state": "started", "source": "openrc"},
        "crond": {"name": "crond", "runlevels": None, "state": "stopped", "source": "openrc"},
    }
