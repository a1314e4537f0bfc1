"""The recap lists the hosts that took part in the run, as Ansible's does."""

from __future__ import annotations

INVENTORY = "".join(f"h{i} ansible_connection=local\n" for i in (1, 2, 3))


def test_hosts_of_batches_that_never_started_are_not_in_the_recap(corral_project):
    corral_project.write("hosts.ini", INVENTORY)
    corral_project.write(
        "site.yml",
        """
        - hosts: all
          serial: 1
          max_fail_percentage: 0
          tasks:
            - fail: {msg: no}
              when: inventory_hostname == 'h1'
            - debug: {msg: after}
        """,
    )
    result = corral_project.run("run", "site.yml", "-i", "hosts.ini", "--output", "json")
    assert result.exit_code == 2, result.output
    assert list(result.recap()) == ["h1"]


def test_hosts_left_behind_by_a_failed_run_once_task_are_not_in_the_recap(corral_project):
    corral_project.write("hosts.ini", INVENTORY)
    corral_project.write(
        "site.yml",
        """
        - hosts: all
          tasks:
            - fail: {msg: no}
              run_once: true
            - debug: {msg: after}
        """,
    )
    result = corral_project.run("run", "site.yml", "-i", "hosts.ini")
    assert result.exit_code == 2, result.output
    assert list(result.recap()) == ["h1"]
    assert "after" not in result.output
