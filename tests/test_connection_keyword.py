"""The ``connection:`` keyword on a play, block or task, under the host's ansible_connection.

As in Ansible: the keyword picks the connection type for hosts whose inventory sets no
``ansible_connection``; a host's own variable wins; ``-c`` is below the keyword.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from corral.testing import CorralProject

# Port 1 on loopback: an ssh attempt is refused at once.
HOSTS = """\
[far]
f1 ansible_host=127.0.0.1 ansible_port=1
f2 ansible_host=127.0.0.1 ansible_port=1 ansible_connection=ssh
"""

PLAYBOOK = """
- hosts: far
  gather_facts: true  # Gathering Facts uses the play's connection too
  connection: local
  tasks:
    - command: echo play
- hosts: f1
  gather_facts: false
  tasks:
    - command: echo task
      connection: local
    - block:
        - command: echo block
      connection: "{{ 'lo' + 'cal' }}"
    - command: echo ssh
      ignore_unreachable: true
"""


@pytest.fixture
def project(corral_project: CorralProject, tmp_path: Path) -> CorralProject:
    home = tmp_path / "home"
    home.mkdir()
    corral_project.env.update({"CORRAL_STORE": "off", "HOME": str(home)})
    corral_project.write("hosts.ini", HOSTS)
    corral_project.write("site.yml", PLAYBOOK)
    return corral_project


def outcomes(result) -> list[tuple[str, str, str]]:
    return [
        (e["host"], e["result"].get("stdout", ""), e["status"])
        for e in result.json_lines()
        if e["event"] == "task_result"
    ]


@pytest.mark.parametrize("extra", [(), ("-c", "ssh")])
def test_connection_keyword_below_the_hosts_own_variable(
    project: CorralProject, extra: tuple[str, ...]
) -> None:
    result = project.run("run", "site.yml", "-i", "hosts.ini", "--output", "json", *extra)
    seen = outcomes(result)
    assert ("f1", "play", "changed") in seen
    assert ("f1", "", "ok") in seen  # Gathering Facts
    assert [s for h, _, s in seen if h == "f2"] == ["unreachable"]  # ansible_connection=ssh wins
    assert ("f1", "task", "changed") in seen
    assert ("f1", "block", "changed") in seen
    assert seen[-1][:1] == ("f1",)
    assert seen[-1][2] != "changed"  # no keyword: ssh again, refused
    assert result.exit_code == 3, result.output
