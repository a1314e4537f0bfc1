"""lineinfile, blockinfile and replace over SSH with become, through the public CLI.

One real sshd on loopback (tests/sshd.py); the test user logs in and becomes root with
sudo to edit files it may not read. The edits keep the files' owner and mode.
"""

from __future__ import annotations

import os
import pwd
import stat as stat_mod
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sshd import TEST_USER, SshdFleet, module_fleet

from corral.testing import CorralProject

SSHD_CONFIG = "Port 22\n#PermitRootLogin yes\nPasswordAuthentication yes\nUsePAM yes\n"

PLAYBOOK = """
- hosts: fleet
  gather_facts: false
  become: true
  tasks:
    - name: harden sshd
      lineinfile:
        path: "{{ base }}/sshd_config"
        regexp: "^#?PermitRootLogin"
        line: PermitRootLogin no
        validate: grep -q "^PermitRootLogin no$" %s
    - name: no passwords
      replace:
        path: "{{ base }}/sshd_config"
        regexp: "^PasswordAuthentication yes$"
        replace: PasswordAuthentication no
    - name: a match block
      blockinfile:
        path: "{{ base }}/sshd_config"
        block: |
          Match User backup
            ForceCommand internal-sftp
    - name: a file of another user's
      lineinfile:
        path: "{{ base }}/nobody.conf"
        line: "owner=nobody"
"""


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshdFleet]:
    with module_fleet(tmp_path_factory, 1) as fleet:
        yield fleet


def _setup(fleet: SshdFleet, project: CorralProject, name: str) -> Path:
    base = fleet.scratch(name)
    config = base / "sshd_config"
    config.write_text(SSHD_CONFIG)
    config.chmod(0o600)  # root's, unreadable to the test user without become
    nobody = pwd.getpwnam("nobody")
    other = base / "nobody.conf"
    other.write_text("x=1\n")
    os.chown(other, nobody.pw_uid, nobody.pw_gid)
    other.chmod(0o640)
    inventory = fleet.inventory_ini(
        corral_known_hosts=str(fleet.root / "known_hosts"), base=str(base)
    )
    project.write("hosts.ini", inventory)
    project.write("site.yml", PLAYBOOK)
    return base


def _statuses(events: list[dict[str, Any]]) -> dict[str, str]:
    return {e["task"]: e["status"] for e in events if e.get("event") == "task_result"}


def test_edits_over_ssh_with_become_keep_owner_and_mode(
    fleet: SshdFleet, corral_project: CorralProject
) -> None:
    base = _setup(fleet, corral_project, "edit-become")
    first = corral_project.run("run", "site.yml", "-i", "hosts.ini", "--output", "json")
    assert first.exit_code == 0, first.output
    assert set(_statuses(first.json_lines()).values()) == {"changed"}, first.output
    config = base / "sshd_config"
    assert config.read_text() == (
        "Port 22\nPermitRootLogin no\nPasswordAuthentication no\nUsePAM yes\n"
        "# BEGIN ANSIBLE MANAGED BLOCK\nMatch User backup\n  ForceCommand internal-sftp\n"
        "# END ANSIBLE MANAGED BLOCK\n"
    )
    assert (config.stat().st_uid, stat_mod.S_IMODE(config.stat().st_mode)) == (0, 0o600)
    other = base / "nobody.conf"
    assert other.read_text() == "x=1\nowner=nobody\n"
    assert other.stat().st_uid == pwd.getpwnam("nobody").pw_uid
    assert stat_mod.S_IMODE(other.stat().st_mode) == 0o640
    second = corral_project.run("run", "site.yml", "-i", "hosts.ini", "--output", "json")
    assert second.exit_code == 0, second.output
    second.assert_recap(changed=0)


def test_check_mode_over_ssh_shows_the_drift_and_changes_nothing(
    fleet: SshdFleet, corral_project: CorralProject
) -> None:
    base = _setup(fleet, corral_project, "edit-check")
    result = corral_project.run("run", "site.yml", "-i", "hosts.ini", "--check", "--diff")
    assert result.exit_code == 0, result.output
    assert "-#PermitRootLogin yes\n+PermitRootLogin no" in result.output
    assert "+# BEGIN ANSIBLE MANAGED BLOCK" in result.output
    assert (base / "sshd_config").read_text() == SSHD_CONFIG
    result.assert_recap(changed=4)


def test_a_validate_that_rejects_over_ssh_keeps_the_file(
    fleet: SshdFleet, corral_project: CorralProject
) -> None:
    base = _setup(fleet, corral_project, "edit-reject")
    corral_project.write(
        "site.yml",
        PLAYBOOK.replace('"^PermitRootLogin no$"', '"^PermitRootLogin yes$"'),
    )
    config = base / "sshd_config"
    before = config.read_bytes()
    result = corral_project.run("run", "site.yml", "-i", "hosts.ini", "--output", "json")
    assert result.exit_code == 2, result.output
    failed = [
        e
        for e in result.json_lines()
        if e.get("event") == "task_result" and e["status"] == "failed"
    ]
    assert [e["task"] for e in failed] == ["harden sshd"]
    assert failed[0]["result"]["msg"] == "failed to validate: rc:1 error:"
    assert config.read_bytes() == before
    assert sorted(p.name for p in base.iterdir()) == ["nobody.conf", "sshd_config"]


def test_without_become_the_login_user_edits_its_own_files_over_sftp(
    fleet: SshdFleet, corral_project: CorralProject
) -> None:
    base = _setup(fleet, corral_project, "edit-plain")
    corral_project.write(
        "site.yml",
        """
- hosts: fleet
  gather_facts: false
  tasks:
    - lineinfile: {path: "{{ base }}/mine/app.conf", line: "a=1", create: true, mode: "0600"}
    - blockinfile: {path: "{{ base }}/mine/app.conf", block: "b=2", insertbefore: BOF}
    - replace: {path: "{{ base }}/mine/app.conf", regexp: "=(\\\\d)$", replace: ": \\\\1"}
    - lineinfile: {path: "{{ base }}/sshd_config", line: "x"}
      ignore_errors: true
      register: denied
    - assert: {that: ["denied is failed"]}
""",
    )
    first = corral_project.run("run", "site.yml", "-i", "hosts.ini", "--output", "json")
    assert first.exit_code == 0, first.output
    mine = base / "mine" / "app.conf"
    assert mine.read_text() == (
        "# BEGIN ANSIBLE MANAGED BLOCK\nb: 2\n# END ANSIBLE MANAGED BLOCK\na: 1\n"
    )
    assert mine.stat().st_uid == pwd.getpwnam(TEST_USER).pw_uid
    assert stat_mod.S_IMODE(mine.stat().st_mode) == 0o600
    assert (base / "sshd_config").read_text() == SSHD_CONFIG
