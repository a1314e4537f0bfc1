"""Differential: the same user/group/getent play by ansible-playbook and by corral.

Two fresh Debian hosts of the same image: ansible-playbook manages deb1, corral deb2,
each twice. Per-task statuses of both runs, the second run's idempotence and the
resulting accounts (``getent passwd``/``group``/``shadow``, memberships, homes) must match.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from debian_hosts import DebianFleet, FleetFactory, ssh_control_dir

BIN = Path(sys.executable).parent
COMPAT = Path(__file__).resolve().parents[2] / "compat"
HASH = "$6$corralsalt$R1v0uTq3jGkYx7bIh2w9Zs8oQeLmNcPd4fA6rVtU5yJ.WkXHaE0iSbOnDlCgFzM1pQ2"

PLAYBOOK = f"""
- hosts: debian
  gather_facts: false
  become: true
  tasks:
    - name: group ops
      group: {{name: ops, gid: 3100}}
    - name: system group
      group: {{name: svcgrp, system: true}}
    - name: alice
      user:
        name: alice
        uid: 2100
        comment: Alice Admin
        shell: /bin/bash
        groups: [ops, adm]
        password: "{HASH}"
    - name: bob appended
      user: {{name: bob, groups: ops, append: true}}
    - name: service account
      user: {{name: svc, system: true, create_home: false, group: svcgrp, shell: /usr/sbin/nologin}}
    - name: key
      user: {{name: alice, generate_ssh_key: true, ssh_key_type: ed25519}}
    - name: expiry
      user: {{name: bob, expires: 1893456000, password_expire_max: 60}}
    - name: lock
      user: {{name: alice, password_lock: true}}
    - name: gone
      user: {{name: carol, state: absent, remove: true}}
    - name: gone group
      group: {{name: oldteam, state: absent}}
    - name: lookup
      getent: {{database: passwd, key: alice}}
    - name: show
      debug: {{msg: "{{{{ getent_passwd.alice }}}}"}}
"""

STATE_SCRIPT = r"""
for u in alice bob svc carol; do getent passwd $u || echo "no $u"; done
for g in ops svcgrp oldteam adm; do getent group $g || echo "no $g"; done
for u in alice bob svc; do getent shadow $u | cut -d: -f1,2,4-9; id -nG $u; done
ls -la --time-style=+ /home/alice/.ssh | awk '{print $1, $3, $4, $NF}'
test -e /home/carol && echo carol-home || echo no-carol-home
"""


def _env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "CORRAL_"))}
    env.update(HOME=str(tmp / "home"), NO_COLOR="1", CORRAL_HOME=str(tmp / "corral-home"))
    env.update(
        ANSIBLE_HOME=str(tmp / "ansible-home"),
        ANSIBLE_LOCAL_TEMP=str(tmp / "ansible-local"),
        ANSIBLE_CALLBACK_PLUGINS=str(COMPAT / "callback_plugins"),
        ANSIBLE_CALLBACKS_ENABLED="compat_events",
        ANSIBLE_PIPELINING="1",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_DEPRECATION_WARNINGS="0",
        ANSIBLE_SSH_CONTROL_PATH_DIR=ssh_control_dir(),
    )
    return env


def statuses(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["task"], e["status"]) for e in events if e.get("event") == "task_result"]


def run_ansible(fleet: DebianFleet, tmp: Path, playbook: Path) -> list[dict[str, Any]]:
    events_file = tmp / "events.jsonl"
    events_file.unlink(missing_ok=True)
    env = _env(tmp) | {"CORRAL_COMPAT_EVENTS": str(events_file)}
    argv = [str(BIN / "ansible-playbook"), "-i", str(fleet.inventory), "-l", "deb1", str(playbook)]
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return [json.loads(line) for line in events_file.read_text().splitlines()]


def run_corral(fleet: DebianFleet, tmp: Path, playbook: Path) -> list[dict[str, Any]]:
    argv = [str(BIN / "corral"), "run", str(playbook), "-i", str(fleet.inventory)]
    argv += ["-l", "deb2", "--output", "json"]
    proc = subprocess.run(
        argv, env=_env(tmp), capture_output=True, text=True, timeout=600, check=False, cwd=tmp
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


@pytest.mark.slow
def test_user_and_group_steps_do_what_ansible_does(
    debian_fleet: FleetFactory, tmp_path: Path
) -> None:
    fleet = debian_fleet(2)
    for host in fleet.hosts:
        fleet.check(host, ["useradd", "-m", "carol"])
        fleet.check(host, ["useradd", "-G", "adm", "bob"])
        fleet.check(host, ["groupadd", "oldteam"])
    (tmp_path / "home").mkdir()
    playbook = tmp_path / "site.yml"
    playbook.write_text(PLAYBOOK)
    first_ansible = run_ansible(fleet, tmp_path, playbook)
    first_corral = run_corral(fleet, tmp_path, playbook)
    assert statuses(first_corral) == statuses(first_ansible)
    assert ("alice", "changed") in statuses(first_corral)
    second_ansible = run_ansible(fleet, tmp_path, playbook)
    second_corral = run_corral(fleet, tmp_path, playbook)
    assert statuses(second_corral) == statuses(second_ansible)
    assert all(status == "ok" for _, status in statuses(second_corral))
    shown = [
        e["result"]["msg"]
        for e in (*second_ansible, *second_corral)
        if e.get("event") == "task_result" and e["task"] == "show"
    ]
    assert shown[0] == shown[1]
    state = [fleet.check(h, ["bash", "-c", STATE_SCRIPT]) for h in fleet.hosts]
    assert state[1] == state[0]
