"""Ansible's Jinja2 filters and tests that a project ships as Python files: filter_plugins/,
test_plugins/ (beside the playbook, in roles, named by ansible.cfg) and collections."""

from __future__ import annotations

import pytest

INVENTORY = "web1 ansible_connection=local\n"

SHOUT = """
class FilterModule(object):
    def filters(self):
        return {"shout": lambda text: str(text).upper() + "!"}
"""

EVEN = """
class TestModule:
    def tests(self):
        return {"even": lambda n: int(n) % 2 == 0}
"""


def debug_playbook(expression: str, *, roles: str = "") -> str:
    return f"""
    - hosts: all
      gather_facts: false
      {roles}
      tasks:
        - debug:
            msg: "{{{{ {expression} }}}}"
    """


def debug_says(project, expression: str) -> str:
    """Run a one-debug playbook printing ``expression``; the message it printed."""
    project.write("site.yml", debug_playbook(expression))
    result = project.run("run", "site.yml", "-i", "hosts.ini", "--output", "json")
    assert result.exit_code == 0, result.output
    (event,) = [e for e in result.json_lines() if e["event"] == "task_result"]
    return str(event["result"]["msg"])


@pytest.fixture
def project(corral_project):
    corral_project.write("hosts.ini", INVENTORY)
    return corral_project


def test_a_filter_beside_the_playbook(project):
    project.write("filter_plugins/shout.py", SHOUT)
    assert debug_says(project, "'hello' | shout") == "HELLO!"


def test_a_roles_test_serves_its_tasks(project):
    project.write("roles/numbers/test_plugins/even.py", EVEN)
    project.write(
        "roles/numbers/tasks/main.yml",
        """
        - assert:
            that: [4 is even, 3 is not even]
        """,
    )
    project.write(
        "site.yml",
        """
        - hosts: all
          gather_facts: false
          roles: [numbers]
        """,
    )
    result = project.run("run", "site.yml", "-i", "hosts.ini")
    assert result.exit_code == 0, result.output
    result.assert_recap("web1", ok=1, failed=0)


def test_ansible_cfg_names_more_directories(project):
    project.write("shared/filters/shout.py", SHOUT)
    project.write("ansible.cfg", "[defaults]\nfilter_plugins = ./elsewhere:./shared/filters\n")
    assert debug_says(project, "'cfg' | shout") == "CFG!"


def test_a_collections_filter_by_its_full_name(project):
    project.write("collections/ansible_collections/acme/text/plugins/filter/loud.py", SHOUT)
    assert debug_says(project, "'coll' | acme.text.shout") == "COLL!"


def test_a_name_no_collection_has_is_refused_by_check(project):
    project.write("collections/ansible_collections/acme/text/plugins/filter/loud.py", SHOUT)
    project.write("site.yml", debug_playbook("'x' | acme.text.whisper"))
    result = project.run("check", "site.yml", "-i", "hosts.ini")
    assert result.exit_code == 4
    assert "unknown filter 'acme.text.whisper'" in result.stderr
    assert "Traceback" not in result.output


def test_the_contents_filter_hides_a_plugins_filter_of_that_name(project):
    project.write(
        "filter_plugins/mine.py",
        """
        class FilterModule:
            def filters(self):
                return {"to_nice_yaml": lambda value: "mine"}
        """,
    )
    assert debug_says(project, "{'a': 1} | to_nice_yaml") == "mine"


def test_a_broken_plugin_file_is_one_line_at_its_place(project):
    project.write(
        "filter_plugins/broken.py",
        """
        class FilterModule:
            def filters(self)
                return {}
        """,
    )
    project.write("site.yml", debug_playbook("'x'"))
    result = project.run("check", "site.yml", "-i", "hosts.ini")
    assert result.exit_code == 4
    [line] = [line for line in result.stderr.splitlines() if line.startswith("error")]
    assert "filter_plugins/broken.py:2:" in line
    assert "cannot load plugin file broken.py: SyntaxError" in line
    assert "Traceback" not in result.output


def test_a_plugin_that_needs_ansible_says_so(project):
    project.write("filter_plugins/needs.py", "from ansible.no_such_module import thing\n")
    project.write("site.yml", debug_playbook("'x'"))
    result = project.run("check", "site.yml", "-i", "hosts.ini")
    assert result.exit_code == 4
    assert "filter_plugins/needs.py:1" in result.stderr
    assert "pip install ansible-core" in result.stderr


def test_a_changed_plugin_file_is_read_again(project):
    project.write("filter_plugins/shout.py", SHOUT)
    assert debug_says(project, "'a' | shout") == "A!"
    project.write(
        "filter_plugins/shout.py",
        """
        class FilterModule:
            def filters(self):
                return {"shout": lambda text: text + "?"}
        """,
    )
    assert debug_says(project, "'a' | shout") == "a?"


def test_worker_processes_load_the_same_filters(project):
    project.write("filter_plugins/shout.py", SHOUT)
    project.write("hosts.ini", "web[1:4] ansible_connection=local\n")  # a host alone stays
    project.write(
        "site.yml",
        """
        - hosts: all
          gather_facts: false
          tasks:
            - command: echo {{ inventory_hostname | shout }}  # rendered on a worker
              register: said
            - debug:
                msg: "{{ said.stdout }}"
        """,
    )
    result = project.run_subprocess(
        "run", "site.yml", "-i", "hosts.ini", "--executor", "processes",
        env={"CORRAL_PROCESSES": "2"}, timeout=120,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    for host in ("WEB1!", "WEB4!"):
        assert f'"msg": "{host}"' in result.output


def test_check_parses_assert_conditions_with_the_projects_tests(project):
    project.write("test_plugins/even.py", EVEN)
    project.write(
        "site.yml",
        """
        - hosts: all
          gather_facts: false
          tasks:
            - assert: {that: "4 is even"}
            - assert:
                that: [2 is even, "'x' is blue"]
        """,
    )
    result = project.run("check", "site.yml", "-i", "hosts.ini")
    assert result.exit_code == 4
    assert "site.yml:5:7: unknown test 'blue'" in result.stderr
    project.write("test_plugins/blue.py", EVEN.replace('"even"', '"blue"'))
    assert project.run("check", "site.yml", "-i", "hosts.ini").exit_code == 0
