"""The pre-run check knows the variables ``getent`` sets, and only when a getent task is there."""

from __future__ import annotations

from corral.testing import CorralProject

USES = """
    - debug:
        msg: "{{ getent_passwd['root'][4] }}"
"""


def check(project: CorralProject, tasks: str) -> int:
    project.write("hosts.ini", "localhost ansible_connection=local\n")
    project.write("site.yml", f"- hosts: all\n  gather_facts: false\n  tasks:\n{tasks}")
    return project.run("check", "site.yml", "-i", "hosts.ini").exit_code


def test_getent_variables_are_defined_for_the_check(corral_project: CorralProject) -> None:
    lookup = "    - getent: {database: passwd, key: root}\n"
    assert check(corral_project, lookup + USES) == 0


def test_without_a_getent_task_the_variable_is_undefined(corral_project: CorralProject) -> None:
    assert check(corral_project, USES) == 4


def test_getent_runs_locally_and_sets_the_variable(corral_project: CorralProject) -> None:
    corral_project.write("hosts.ini", "localhost ansible_connection=local\n")
    tasks = "    - getent: {database: passwd, key: root}\n" + USES
    corral_project.write("site.yml", f"- hosts: all\n  gather_facts: false\n  tasks:\n{tasks}")
    result = corral_project.run("run", "site.yml", "-i", "hosts.ini", "--output", "json")
    assert result.exit_code == 0, result.output
    shown = [e for e in result.json_lines() if e.get("event") == "task_result"]
    assert shown[1]["result"]["msg"] == "/root"
