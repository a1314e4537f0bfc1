"""``group_by`` and ``add_host``: the inventory grows during the run, as in Ansible.

The differential test (tests/compat/playbooks/81_group_by_add_host.yml) compares the
results with ansible-playbook; these check what it cannot: the variables of a group a
host joins, the free strategy, check mode, and the pre-run check.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from corral.testing import CorralProject

HOSTS = """\
h1 kind=x ansible_connection=local
h2 kind=y ansible_connection=local
"""


@pytest.fixture
def project(corral_project: CorralProject, tmp_path: Path) -> CorralProject:
    home = tmp_path / "home"
    home.mkdir()
    corral_project.env.update({"CORRAL_STORE": "off", "HOME": str(home)})
    corral_project.write("hosts.ini", HOSTS)
    corral_project.write("group_vars/kind_x.yml", "joined: from group_vars\n")
    return corral_project


def messages(result) -> list[tuple[str, str]]:
    return [
        (e["host"], e["result"]["msg"])
        for e in result.json_lines()
        if e["event"] == "task_result" and "msg" in e["result"]
    ]


PLAYBOOK = """
- hosts: all
  gather_facts: false
  strategy: {strategy}
  tasks:
    - group_by: {{key: "kind_{{{{ kind }}}}"}}
    - debug: {{msg: "{{{{ joined | default('-') }}}}"}}
- hosts: kind_x
  gather_facts: false
  tasks:
    - debug: {{msg: "{{{{ inventory_hostname }}}} {{{{ joined }}}} {{{{ group_names }}}}"}}
"""


def test_a_joined_group_brings_its_group_vars(project: CorralProject) -> None:
    project.write("site.yml", PLAYBOOK.format(strategy="linear"))
    result = project.run("run", "site.yml", "-i", "hosts.ini", "--output", "json")
    assert result.exit_code == 0, result.output
    assert sorted(messages(result)) == [
        ("h1", "from group_vars"),  # the next task of the same play sees it already
        ("h1", "h1 from group_vars ['kind_x']"),
        ("h2", "-"),
    ]


def test_free_strategy_adds_the_groups_for_later_plays(project: CorralProject) -> None:
    project.write("site.yml", PLAYBOOK.format(strategy="free"))
    result = project.run("run", "site.yml", "-i", "hosts.ini", "--output", "json")
    assert result.exit_code == 0, result.output
    assert ("h1", "h1 from group_vars ['kind_x']") in messages(result)


def test_check_mode_and_the_pre_run_check(project: CorralProject) -> None:
    project.write("site.yml", PLAYBOOK.format(strategy="linear"))
    checked = project.run("check", "site.yml", "-i", "hosts.ini")
    assert checked.exit_code == 0, checked.output  # kind_x does not exist yet: no error
    result = project.run("run", "site.yml", "-i", "hosts.ini", "--check", "--output", "json")
    assert result.exit_code == 0, result.output
    assert ("h1", "h1 from group_vars ['kind_x']") in messages(result)


def test_add_host_runs_once_for_the_batch_with_its_variables(project: CorralProject) -> None:
    project.write(
        "site.yml",
        """
        - hosts: all
          gather_facts: false
          tasks:
            - add_host:
                hostname: added
                groupname: new
                ansible_connection: local
                note: "added by {{ inventory_hostname }}"
              register: added
        - hosts: new
          gather_facts: false
          tasks:
            - debug: {msg: "{{ inventory_hostname }} {{ note }}"}
        """,
    )
    result = project.run("run", "site.yml", "-i", "hosts.ini", "--output", "json")
    assert result.exit_code == 0, result.output
    ran = [(e["host"], e["status"]) for e in result.json_lines() if e["event"] == "task_result"]
    assert ran == [("h1", "changed"), ("added", "ok")]
    assert messages(result)[-1] == ("added", "added added by h1")


def test_group_by_needs_a_key(project: CorralProject) -> None:
    project.write(
        "site.yml",
        """
        - hosts: all
          gather_facts: false
          tasks:
            - group_by: {parents: all}
        """,
    )
    result = project.run("check", "site.yml", "-i", "hosts.ini")
    assert result.exit_code == 4
    assert "site.yml:4:7:" in result.output
    assert "'key' is a required property" in result.output
