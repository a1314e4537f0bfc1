"""The pre-run check knows what fact gathering defines, in tasks and in template files."""

from __future__ import annotations

import socket
import sys

import pytest

INVENTORY = "h1 ansible_connection=local\n"


@pytest.fixture
def project(corral_project):
    corral_project.write("hosts.ini", INVENTORY)
    return corral_project


def run(project, playbook: str, *args: str):
    project.write("site.yml", playbook)
    return project.run("run", "site.yml", "-i", "hosts.ini", *args)


FACT_USES = "{{ ansible_hostname }} {{ ansible_facts.os_family }} {{ ansible_facts['user_id'] }}"


def test_gather_facts_true_defines_facts(project) -> None:
    result = run(
        project,
        f"""
        - hosts: h1
          gather_facts: true
          tasks:
            - debug: {{msg: "{FACT_USES}"}}
        """,
    )
    assert result.exit_code == 0, result.output
    assert "undefined" not in result.output


@pytest.mark.parametrize("action", ["setup", "ansible.builtin.setup", "gather_facts"])
def test_a_setup_task_defines_facts_after_it(project, action: str) -> None:
    result = run(
        project,
        f"""
        - hosts: h1
          gather_facts: false
          tasks:
            - {action}:
            - debug: {{msg: "{FACT_USES}"}}
        """,
    )
    assert result.exit_code == 0, result.output


def test_facts_from_an_earlier_play_stay_defined(project) -> None:
    result = run(
        project,
        f"""
        - hosts: h1
          gather_facts: true
          tasks: []
        - hosts: h1
          gather_facts: false
          tasks:
            - debug: {{msg: "{FACT_USES}"}}
        """,
    )
    assert result.exit_code == 0, result.output


def test_fact_used_before_the_setup_task_is_refused(project) -> None:
    result = run(
        project,
        """
        - hosts: h1
          gather_facts: false
          tasks:
            - debug: {msg: "{{ ansible_hostname }}"}
            - setup:
        """,
    )
    assert result.exit_code == 4, result.output
    assert "site.yml:4:" in result.stderr
    assert "undefined variable 'ansible_hostname'" in result.stderr
    assert "gather_facts" in result.stderr
    assert "setup" in result.stderr


def test_a_fact_setup_does_not_gather_is_named(project) -> None:
    result = run(
        project,
        """
        - hosts: h1
          gather_facts: true
          tasks:
            - debug: {msg: "{{ ansible_hostnme }}"}
        """,
    )
    assert result.exit_code == 4, result.output
    assert "'setup' does not gather 'hostnme'" in result.stderr
    assert "did you mean 'ansible_hostname'?" in result.stderr


def test_interface_facts_are_known_by_pattern(project) -> None:
    result = run(
        project,
        """
        - hosts: h1
          gather_facts: true
          tasks:
            - debug: {msg: "{{ ansible_lo.ipv4.address }}"}
        """,
    )
    assert result.exit_code == 0, result.output
    assert "127.0.0.1" in result.output


TEMPLATE_TASK = """
- hosts: h1
  gather_facts: {gather}
  tasks:
    - template: {{src: motd.j2, dest: "{{{{ playbook_dir }}}}/motd"}}
"""


def test_facts_in_a_template_file_are_known_when_gathered(project) -> None:
    project.write("templates/motd.j2", "host {{ ansible_hostname }} ({{ ansible_os_family }})\n")
    result = run(project, TEMPLATE_TASK.format(gather="true"))
    assert result.exit_code == 0, result.output
    text = (project.path / "motd").read_text()
    assert text.startswith(f"host {socket.gethostname().split('.')[0]} (")


def test_facts_in_a_template_file_without_gathering_get_the_hint(project) -> None:
    project.write("templates/motd.j2", "host {{ ansible_hostname }}\n")
    result = run(project, TEMPLATE_TASK.format(gather="false"))
    assert result.exit_code == 4, result.output
    assert "undefined variable 'ansible_hostname' in template templates/motd.j2" in result.stderr
    assert "site.yml:4:" in result.stderr
    assert "gather_facts" in result.stderr
    assert not (project.path / "motd").exists()


def test_undefined_name_in_a_template_file_is_refused(project) -> None:
    project.write(
        "templates/motd.j2",
        "{% for u in users %}{{ u }}{% endfor %}{{ missing | default('') }}{{ typo_var }}\n",
    )
    result = run(
        project,
        TEMPLATE_TASK.format(gather="false").replace(
            "  tasks:", "  vars: {users: [a], typo_vr: 1}\n  tasks:"
        ),
    )
    assert result.exit_code == 4, result.output
    assert "undefined variable 'typo_var'" in result.stderr
    assert "did you mean 'typo_vr'?" in result.stderr


def test_template_variables_and_task_vars_are_known_in_a_template_file(project) -> None:
    project.write("templates/motd.j2", "{{ ansible_managed }} {{ template_path }} {{ greeting }}\n")
    result = run(
        project,
        """
        - hosts: h1
          gather_facts: false
          tasks:
            - template: {src: motd.j2, dest: "{{ playbook_dir }}/motd"}
              vars: {greeting: hi}
        """,
    )
    assert result.exit_code == 0, result.output


def test_facts_are_gathered_by_default_as_in_ansible(project) -> None:
    result = run(
        project,
        """
        - hosts: h1
          tasks:
            - debug: {msg: "family {{ ansible_os_family }}"}
        """,
    )
    assert result.exit_code == 0, result.output
    assert "TASK [Gathering Facts]" in result.output
    result.assert_recap("h1", ok=2)


def test_gather_facts_false_gathers_nothing(project) -> None:
    result = run(
        project,
        """
        - hosts: h1
          gather_facts: false
          tasks:
            - debug: {msg: hi}
        """,
    )
    assert result.exit_code == 0, result.output
    assert "Gathering Facts" not in result.output
    result.assert_recap("h1", ok=1)


def test_a_connection_variable_is_not_called_a_fact(project) -> None:
    result = run(
        project,
        """
        - hosts: h1
          tasks:
            - debug: {msg: "{{ ansible_port }}"}
        """,
    )
    assert result.exit_code == 4, result.output
    assert "ansible_port is a connection variable" in result.stderr


@pytest.mark.parametrize("interpreter", [sys.executable, '"{{ ansible_playbook_python }}"'])
def test_python_facts_describe_ansible_python_interpreter(corral_project, interpreter) -> None:
    corral_project.write(
        "hosts.ini", f"h1 ansible_connection=local ansible_python_interpreter={interpreter}\n"
    )
    corral_project.write(
        "site.yml",
        """
        - hosts: h1
          tasks:
            - debug: {msg: "python {{ ansible_python.executable }}"}
        """,
    )
    result = corral_project.run("run", "site.yml", "-i", "hosts.ini")
    assert result.exit_code == 0, result.output
    assert f"python {sys.executable}" in result.output
