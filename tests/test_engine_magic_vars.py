"""Ansible's magic variables, as a playbook reads them."""

from __future__ import annotations

import pytest

INVENTORY = """
[web]
web1.example.com ansible_connection=local
web2 ansible_connection=local
[db]
db1 ansible_connection=local
"""

PLAYBOOK = """
- hosts: web
  gather_facts: false
  tasks:
    - name: magic
      tags: [t1]
      assert:
        that:
          - ansible_version.full is version('2.9', '>=')
          - ansible_version.major == 2
          - ansible_version.string == ansible_version.full
          - ansible_version.minor is number and ansible_version.revision is number
          - ansible_check_mode == false
          - ansible_diff_mode == false
          - ansible_play_hosts == ['web1.example.com', 'web2']
          - ansible_play_hosts_all == ansible_play_hosts
          - ansible_play_batch == ansible_play_hosts
          - play_hosts == ansible_play_batch
          - groups.db == ['db1']
          - group_names == ['web']
          - hostvars['db1'].inventory_hostname == 'db1'
          - inventory_hostname_short in ['web1', 'web2']
          - inventory_dir == playbook_dir
          - inventory_file == playbook_dir ~ '/hosts.ini'
          - ansible_run_tags | sort == {run_tags}
          - ansible_skip_tags | sort == {skip_tags}
          - ansible_forks == {forks}
          - (ansible_limit | default('none')) == '{limit}'
          - omit is defined
"""


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((), {"run_tags": "['all']", "skip_tags": "[]", "forks": "100", "limit": "none"}),
        (
            ("--tags", "t1,t2", "--skip-tags", "t3", "--forks", "3", "--limit", "web"),
            {"run_tags": "['t1', 't2']", "skip_tags": "['t3']", "forks": "3", "limit": "web"},
        ),
    ],
)
def test_magic_variables(corral_project, args: tuple[str, ...], expected: dict[str, str]) -> None:
    corral_project.write("hosts.ini", INVENTORY)
    corral_project.write("site.yml", PLAYBOOK.format(**expected))
    result = corral_project.run("run", "site.yml", "-i", "hosts.ini", *args)
    assert result.exit_code == 0, result.output
    result.assert_recap(ok=2, failed=0)


def test_check_and_diff_mode_variables(corral_project) -> None:
    corral_project.write("hosts.ini", "h1 ansible_connection=local\n")
    corral_project.write(
        "site.yml",
        """
        - hosts: h1
          gather_facts: false
          tasks:
            - assert: {that: [ansible_check_mode, ansible_diff_mode]}
        """,
    )
    result = corral_project.run("run", "site.yml", "-i", "hosts.ini", "--check", "--diff")
    assert result.exit_code == 0, result.output


def test_unguarded_ansible_limit_is_known_with_limit(corral_project) -> None:
    corral_project.write("hosts.ini", "h1 ansible_connection=local\n")
    corral_project.write(
        "site.yml",
        """
        - hosts: all
          gather_facts: false
          tasks:
            - debug: {msg: "limit {{ ansible_limit }}"}
        """,
    )
    result = corral_project.run("run", "site.yml", "-i", "hosts.ini", "--limit", "h1")
    assert result.exit_code == 0, result.output
    assert "limit h1" in result.output
