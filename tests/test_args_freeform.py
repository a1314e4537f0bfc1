"""``key=value`` and free-form arguments with Jinja expressions, as Ansible reads them."""

from __future__ import annotations

from typing import Any

import pytest

HOSTS = "all:\n  hosts:\n    localhost: {ansible_connection: local}\n"


@pytest.fixture
def project(corral_project):
    corral_project.write("hosts.yml", HOSTS)
    return corral_project


def run(project: Any, playbook: str, *args: str) -> tuple[Any, list[dict[str, Any]]]:
    project.write("site.yml", playbook)
    result = project.run("run", "site.yml", "-i", "hosts.yml", "--output", "json", *args)
    return result, [e["result"] for e in result.json_lines() if e["event"] == "task_result"]


def test_key_value_with_templates(project, tmp_path):
    target = tmp_path / "made" / "deep"
    result, results = run(
        project,
        """
        - hosts: localhost
          gather_facts: false
          tasks:
            - file: path={{ d }} state=directory mode=0750
            - stat: path="{{ d }}"
              register: st
            - debug: msg="{{ st.stat.isdir }} {{ st.stat.mode }}"
        """,
        "-e",
        f"d={target}",
    )
    assert result.exit_code == 0, result.output
    assert target.is_dir()
    assert results[-1]["msg"] == "True 0750"


def test_command_creates_is_an_option_not_an_argument(project, tmp_path):
    marker = tmp_path / "marker"
    playbook = """
        - hosts: localhost
          gather_facts: false
          tasks:
            - command: touch {{ f }} creates={{ f }}
              register: r
            - debug: var=r.changed
        """
    result, results = run(project, playbook, "-e", f"f={marker}")
    assert result.exit_code == 0, result.output
    assert marker.exists()
    assert not (project.path / f"creates={marker}").exists()
    assert results[0]["changed"] is True
    result, results = run(project, playbook, "-e", f"f={marker}")
    assert result.exit_code == 0, result.output
    assert results[0]["changed"] is False  # the file exists: not run again


def test_chdir_removes_and_options_anywhere(project, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    (work / "keep").write_text("x")
    result, results = run(
        project,
        """
        - hosts: localhost
          gather_facts: false
          tasks:
            - command: pwd chdir={{ d }}
            - shell: chdir={{ d }} ls | wc -l warn=false
            - command: echo a=b removes={{ d }}/nothing-here
            - command: echo "x={{ d }}" 'quoted words'
        """,
        "-e",
        f"d={work}",
    )
    assert result.exit_code == 0, result.output
    pwd, count, removed, echoed = results
    assert pwd["stdout"] == str(work)
    assert count["stdout"].strip() == "1"
    assert removed["changed"] is False
    assert "Did not run command" in removed["msg"]
    assert echoed["stdout"] == f"x={work} quoted words"


def test_args_keyword_merges_with_free_form(project, tmp_path):
    result, results = run(
        project,
        """
        - hosts: localhost
          gather_facts: false
          tasks:
            - shell: pwd
              args:
                chdir: "{{ d }}"
                executable: /bin/sh
            - command: cat
              args:
                stdin: "{{ text }}"
        """,
        "-e",
        f"d={tmp_path}",
        "-e",
        "text=hello",
    )
    assert result.exit_code == 0, result.output
    assert [r["stdout"] for r in results] == [str(tmp_path), "hello"]


def test_executable_option_of_command_and_shell(project):
    """``executable=`` in free form picks the program (command) or the shell (shell)."""
    result, results = run(
        project,
        """
        - hosts: localhost
          gather_facts: false
          tasks:
            - command: ignored hello executable=/bin/echo
            - shell: echo $0 executable=/bin/bash
        """,
    )
    assert result.exit_code == 0, result.output
    assert [r["stdout"] for r in results] == ["hello", "/bin/bash"]


def test_unbalanced_quotes_are_a_located_error(project):
    project.write(
        "site.yml",
        """
        - hosts: localhost
          gather_facts: false
          tasks:
            - file: path='/tmp/x state=directory
        """,
    )
    result = project.run("check", "site.yml", "-i", "hosts.yml")
    assert result.exit_code == 4
    assert "site.yml:4:" in result.output
    assert "cannot parse arguments of 'file'" in result.output
    assert "Traceback" not in result.output


def test_free_words_for_a_mapping_step_are_refused(project):
    project.write("site.yml", "- hosts: localhost\n  tasks:\n    - file: /tmp/x state=touch\n")
    result = project.run("check", "site.yml", "-i", "hosts.yml")
    assert result.exit_code == 4
    assert "step 'file' takes a mapping of arguments" in result.output


def test_command_without_a_command(project):
    project.write("site.yml", "- hosts: localhost\n  tasks:\n    - command: chdir=/tmp\n")
    result = project.run("check", "site.yml", "-i", "hosts.yml")
    assert result.exit_code == 4
    assert "no command given for 'command'" in result.output


def test_warn_is_accepted_and_ignored(project):
    result, results = run(
        project,
        """
        - hosts: localhost
          gather_facts: false
          tasks:
            - command: echo hi warn=false
            - shell: echo there
              args:
                warn: false
        """,
    )
    assert result.exit_code == 0, result.output
    assert [r["stdout"] for r in results] == ["hi", "there"]
