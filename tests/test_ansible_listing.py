"""Differential: ``--list-hosts``, ``--list-tasks``, ``--list-tags``, ``--syntax-check`` and
the no-host error print what ansible-playbook prints, on the same playbook and inventory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent

INVENTORY = """\
[web]
w1 ansible_connection=local
w2 ansible_connection=local
[db]
d1 ansible_connection=local
"""

TASKS_FILE = """\
- name: imported one
  debug: {msg: one}
  tags: [imp]
"""

PLAYBOOK = """\
- name: Web servers
  hosts: web
  gather_facts: false
  tags: [web]
  tasks:
    - name: first task
      debug: {msg: hi}
      tags: [b, a]
    - block:
        - name: in block
          debug: {msg: x}
        - name: rescued
          debug: {msg: y}
      tags: blk
    - debug: {msg: unnamed}
    - import_tasks: more.yml
    - name: never run
      debug: {msg: z}
      tags: [never, special]
- hosts: db:w2
  gather_facts: false
  pre_tasks:
    - {name: pre, debug: {msg: p}}
  tasks:
    - {name: t2, command: echo, tags: [always]}
"""


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "CORRAL_"))}
    env.update(
        HOME=str(home),
        NO_COLOR="1",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_HOME=str(home / "ansible"),
        ANSIBLE_LOCALHOST_WARNING="0",
        CORRAL_STORE="off",
        CORRAL_HOME=str(home / "corral"),
    )
    return env


@pytest.fixture
def project(tmp_path: Path) -> Path:
    if not (BIN / "ansible-playbook").exists():
        pytest.fail("ansible-core is a test dependency: pip install -e '.[dev]'")
    (tmp_path / "hosts.ini").write_text(INVENTORY)
    (tmp_path / "more.yml").write_text(TASKS_FILE)
    (tmp_path / "site.yml").write_text(PLAYBOOK)
    (tmp_path / "home").mkdir()
    return tmp_path


def normalized(text: str) -> list[str]:
    """The lines, with each play's host list sorted: Ansible prints hosts from a set."""
    lines = text.rstrip("\n").split("\n")
    out: list[str] = []
    hosts: list[str] = []
    for line in [*lines, ""]:
        if line.startswith("      ") and out and (out[-1].startswith("    hosts (") or hosts):
            hosts.append(line)
            continue
        out.extend(sorted(hosts))
        hosts = []
        out.append(line)
    return out[:-1]


def both(project: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], ...]:
    common = ["-i", "hosts.ini", "site.yml", *args]
    runs = []
    for argv in ([str(BIN / "ansible-playbook"), *common], [str(BIN / "corral"), "run", *common]):
        runs.append(
            subprocess.run(
                argv,
                cwd=project,
                env=_env(project / "home"),
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
        )
    return tuple(runs)


@pytest.mark.parametrize(
    "args",
    [
        ("--list-hosts",),
        ("--list-tasks",),
        ("--list-tags",),
        ("--list-hosts", "--list-tasks", "--list-tags"),
        ("--list-tasks", "--list-hosts", "-l", "w2"),
        ("--list-tasks", "-t", "blk,imp"),
        ("--list-tasks", "--skip-tags", "a"),
        ("--list-tags", "-t", "never"),
        ("--syntax-check",),
    ],
    ids=" ".join,
)
def test_listings_are_ansible_playbooks(project: Path, args: tuple[str, ...]) -> None:
    ansible, corral = both(project, *args)
    assert ansible.returncode == 0, ansible.stderr
    assert corral.returncode == 0, corral.stderr
    assert normalized(corral.stdout) == normalized(ansible.stdout)


def test_a_limit_that_selects_nothing_stops_both(project: Path) -> None:
    ansible, corral = both(project, "-l", "nosuch")
    assert ansible.returncode != 0
    assert corral.returncode == 5
    message = "Specified inventory, host pattern and/or --limit leaves us with no hosts to target"
    assert message in ansible.stderr
    assert message in corral.stderr
