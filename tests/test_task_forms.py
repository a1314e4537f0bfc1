"""``action:``, ``local_action:``, Ansible's module names, and hints for community modules."""

from __future__ import annotations

from typing import Any

import pytest

from corral.playbook.module_names import ANSIBLE_BUILTIN_MODULES, COUNTERPARTS
from corral.plugins import build_registry, make_plugin_manager

# A host nothing can reach (port 1 refuses at once): only work delegated to localhost runs.
HOSTS = """
all:
  hosts:
    here: {ansible_connection: local}
    far: {ansible_host: 127.0.0.1, ansible_port: 1, ansible_connection: ssh}
"""


@pytest.fixture
def project(corral_project):
    corral_project.write("hosts.yml", HOSTS)
    return corral_project


def run(project: Any, playbook: str, *args: str) -> tuple[Any, list[dict[str, Any]]]:
    project.write("site.yml", playbook)
    result = project.run("run", "site.yml", "-i", "hosts.yml", "--output", "json", *args)
    return result, [e["result"] for e in result.json_lines() if e["event"] == "task_result"]


def check(project: Any, playbook: str) -> Any:
    project.write("site.yml", playbook)
    return project.run("check", "site.yml", "-i", "hosts.yml")


def test_action_string_and_mapping(project, tmp_path):
    result, results = run(
        project,
        """
        - hosts: here
          gather_facts: false
          tasks:
            - action: debug msg="hi {{ inventory_hostname }}"
            - action: {module: debug, msg: mapping}
            - action: command pwd chdir={{ d }}
            - action:
                module: ansible.builtin.command pwd
                chdir: /
        """,
        "-e",
        f"d={tmp_path}",
    )
    assert result.exit_code == 0, result.output
    assert [r.get("msg", r.get("stdout")) for r in results] == [
        "hi here",
        "mapping",
        str(tmp_path),
        "/",
    ]


def test_local_action_runs_on_localhost(project):
    result, results = run(
        project,
        """
        - hosts: far
          gather_facts: false
          tasks:
            - local_action: command echo {{ inventory_hostname }}
              register: r
            - local_action: {module: debug, msg: "{{ r.stdout }}"}
        """,
    )
    assert result.exit_code == 0, result.output
    assert results[0]["stdout"] == "far"
    assert results[1]["msg"] == "far"


def test_action_and_local_action_together_is_an_error(project):
    result = check(
        project,
        """
        - hosts: here
          gather_facts: false
          tasks:
            - action: debug msg=a
              local_action: debug msg=b
        """,
    )
    assert result.exit_code == 4
    assert "site.yml:5:" in result.output
    assert "cannot have both 'action' and 'local_action'" in result.output


def test_action_mapping_needs_module(project):
    result = check(project, "- hosts: here\n  tasks:\n    - action: {msg: hi}\n")
    assert result.exit_code == 4
    assert "site.yml:3:" in result.output
    assert "needs a 'module' key" in result.output


def test_unknown_step_in_action_is_located(project):
    result = check(project, "- hosts: here\n  tasks:\n    - action: debgu msg=hi\n")
    assert result.exit_code == 4
    assert "site.yml:3:7: unknown step type 'debgu'" in result.output
    assert "did you mean 'debug'" in result.output


def test_every_builtin_step_answers_to_its_ansible_names():
    steps = build_registry(make_plugin_manager()).steps
    named = {s.name for s in steps.values() if s.name in ANSIBLE_BUILTIN_MODULES}
    assert {"command", "shell", "copy", "file", "wait_for", "pause", "debug"} <= named
    for name in named:
        for prefix in ("ansible.builtin.", "ansible.legacy."):
            assert steps[prefix + name].name == name
    assert steps["ansible.builtin.uri"].name == "http"
    # Names that are not Ansible's are not invented.
    assert "ansible.builtin.approval" not in steps
    assert "ansible.builtin.http" not in steps


def test_fully_qualified_names_run(project, tmp_path):
    project.write("more.yml", "- ansible.builtin.debug: msg=included\n")
    result, results = run(
        project,
        f"""
        - hosts: here
          gather_facts: false
          tasks:
            - ansible.builtin.file: path={tmp_path}/d state=directory
            - ansible.legacy.command: echo legacy
            - ansible.builtin.include_tasks: more.yml
            - ansible.builtin.import_tasks: more.yml
        """,
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "d").is_dir()
    printed = [r.get("msg") or r.get("stdout") for r in results]
    assert [p for p in printed if p] == [
        "legacy",
        "included",
        "included",
    ]


@pytest.mark.parametrize(
    ("written", "step"),
    [
        ("community.docker.docker_container", "docker.container"),
        ("docker_container", "docker.container"),
        ("community.postgresql.postgresql_query", "database.query"),
        ("community.general.slack", "notify.slack"),
    ],
)
def test_known_community_module_names_the_corral_step(project, written, step):
    result = check(project, f"- hosts: here\n  tasks:\n    - {written}: {{name: x}}\n")
    assert result.exit_code == 4
    assert f"site.yml:3:7: unknown step type {written!r}" in result.output
    assert f"with its step {step!r}" in result.output
    assert "Traceback" not in result.output


def test_every_counterpart_names_a_real_step():
    steps = build_registry(make_plugin_manager()).steps
    for full, (step, _) in COUNTERPARTS.items():
        assert step in steps, full
        assert full not in steps, f"{full} runs as is: it is not a counterpart"


PLATFORM_INCLUDE = """
- hosts: here
  gather_facts: false
  tasks:
    - include_tasks: arch.yml
      when: false
    - debug: {msg: after}
"""


def test_a_step_corral_lacks_in_a_conditional_include_fails_only_a_host_reaching_it(project):
    # Roles keep each platform's tasks in a file of their own (geerlingguy.redis's
    # setup-Archlinux.yml uses pacman); Ansible reads an include_tasks file only when a
    # host gets there.
    project.write("arch.yml", "- name: on Arch\n  pacman: {name: redis}\n")
    checked = check(project, PLATFORM_INCLUDE)
    assert checked.exit_code == 0, checked.output
    assert "warning: arch.yml:2:3: unknown step type 'pacman'" in checked.output
    skipped, results = run(project, PLATFORM_INCLUDE, "--limit", "here")
    assert skipped.exit_code == 0, skipped.output
    assert [r.get("msg") for r in results] == [None, "after"], results
    reached, _ = run(project, PLATFORM_INCLUDE.replace("false", "true"), "--limit", "here")
    assert reached.exit_code == 2
    assert "arch.yml:2:3: unknown step type 'pacman'" in reached.output
    # A file included without a condition is read by every host: refused up front.
    always = check(project, PLATFORM_INCLUDE.replace("      when: false\n", ""))
    assert always.exit_code == 4
    assert "arch.yml:2:3: unknown step type 'pacman'" in always.output


def test_a_nameless_include_is_named_as_ansible_names_it(project):
    project.write("roles/web/tasks/main.yml", "- include_tasks: more.yml\n")
    project.write("roles/web/tasks/more.yml", "- debug: {msg: hi}\n")
    project.write("more.yml", "- debug: {msg: hi}\n")
    playbook = "- hosts: here\n  roles: [web]\n  tasks:\n    - include_tasks: more.yml\n"
    result, _ = run(project, playbook, "--limit", "here")
    assert result.exit_code == 0, result.output
    names = [e["task"] for e in result.json_lines() if e["event"] == "task_result"]
    assert names[1:] == ["web : include_tasks", "web : debug", "include_tasks", "debug"]
