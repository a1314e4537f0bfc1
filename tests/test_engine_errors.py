"""Bad playbooks: exit 4, one line with file:line:col and a hint, no traceback, no host touched."""

from __future__ import annotations

import re

import pytest

TOUCH = "- shell: 'touch {marker}'\n"


@pytest.fixture
def project(corral_project):
    corral_project.write("hosts.ini", "h1 ansible_connection=local\n")
    return corral_project


def run_bad(project, text: str, *, command: str = "run"):
    marker = project.path / "touched"
    project.write("site.yml", text.replace("{marker}", str(marker)))
    result = project.run(command, "site.yml", "-i", "hosts.ini")
    assert result.exit_code == 4, result.output
    assert "Traceback" not in result.output
    assert not marker.exists(), "a host was touched"
    lines = result.stderr.splitlines()
    assert lines, result.output
    assert lines[0].startswith("error: "), result.output
    assert len(lines) <= 2, result.stderr
    return lines


def play(tasks: str) -> str:
    return "- hosts: h1\n  tasks:\n    - shell: 'touch {marker}'\n" + tasks


CASES = {
    "tab": ("- hosts: h1\n  tasks:\n\t- debug: {msg: hi}\n", r"site\.yml:3:1: .*tab", None),
    "unclosed quote": (play('    - debug: {msg: "hi}\n'), r"site\.yml:\d+:\d+: .*quote", None),
    "duplicate key": (
        play("    - debug: {msg: a}\n      name: x\n      name: y\n"),
        r"site\.yml:6:7: .*duplicate.*'name'",
        None,
    ),
    "play is a string": ("- just a string\n", r"site\.yml:1:3: a play must be a mapping", "hosts"),
    "tasks not a list": (
        "- hosts: h1\n  tasks: {debug: {msg: x}}\n",
        r"site\.yml:2:10: play keyword 'tasks' must be a list or empty, got a mapping",
        None,
    ),
    "unknown step": (
        play("    - shel: echo hi\n"),
        r"site\.yml:4:7: unknown step type 'shel'",
        "did you mean 'shell'?",
    ),
    "a wrong item of a list": (
        "- hosts: h1\n  needs:\n    - a\n    - 3\n  tasks: []\n",
        r"site\.yml:4:7: play keyword 'needs': item 2 must be a string, got int",
        None,
    ),
    "removed include": (
        play("    - include: more.yml\n"),
        r"site\.yml:4:7: unknown step type 'include'",
        "'include' was removed in ansible-core 2.16: use include_tasks",
    ),
    "removed first_available_file": (
        play("    - copy: {src: a, dest: /tmp/a}\n      first_available_file: [a, b]\n"),
        r"site\.yml:5:7: unknown task keyword 'first_available_file'",
        "with_first_found",
    ),
    "unknown keyword": (
        play("    - debug: {msg: x}\n      whenn: true\n"),
        r"site\.yml:5:7: unknown task keyword 'whenn'",
        "did you mean 'when'?",
    ),
    "undefined in args": (
        play("    - debug: {msg: '{{ versoin }}'}\n"),
        r"site\.yml:4:7: undefined variable 'versoin' in task 'debug'",
        None,
    ),
    "undefined in when": (
        "- hosts: h1\n  vars: {version: 1}\n  tasks:\n    - shell: 'touch {marker}'\n"
        "    - debug: {msg: x}\n      when: versoin > 1\n",
        r"site\.yml:5:7: undefined variable 'versoin'",
        "did you mean 'version'?",
    ),
    "jinja syntax": (play("    - debug: {msg: '{{ foo( }}'}\n"), r"site\.yml:4:\d+: .*", None),
    "loop over non-list": (
        play("    - debug: {msg: x}\n      loop: 42\n"),
        r"site\.yml:\d+:\d+: .*loop",
        None,
    ),
    "invalid register": (
        play("    - debug: {msg: x}\n      register: 2bad\n"),
        r"site\.yml:5:7: invalid register name '2bad'",
        None,
    ),
    "missing vars_files": (
        "- hosts: h1\n  vars_files: [nope.yml]\n  tasks:\n    - shell: 'touch {marker}'\n",
        r"site\.yml:2:16: vars file 'nope.yml' not found",
        None,
    ),
    "wrong arg type": (
        play("    - wait_for: {timeout: soon}\n"),
        r"site\.yml:4:\d+: argument 'timeout' of step 'wait_for'",
        None,
    ),
    "unknown arg": (
        play("    - copy: {dest: /tmp/x, contnet: y}\n"),
        r"site\.yml:4:\d+: unknown argument 'contnet' for step 'copy'",
        "did you mean 'content'?",
    ),
    "gather_facts hint": (
        play("    - debug: {msg: '{{ ansible_hostname }}'}\n").replace(
            "  tasks:", "  gather_facts: false\n  tasks:"
        ),
        r"undefined variable 'ansible_hostname'",
        "gather_facts",
    ),
    "sandbox escape": (
        play("    - debug: {msg: \"{{ ''.__class__.__mro__ }}\"}\n"),
        r"site\.yml:4:\d+: .*(unsafe|__class__)",
        None,
    ),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_bad_playbook(project, case):
    text, pattern, hint = CASES[case]
    lines = run_bad(project, text)
    assert re.search(pattern, lines[0]), lines
    if hint:
        assert hint in "\n".join(lines)


def test_check_command_reports_the_same_errors(project):
    lines = run_bad(project, play("    - shel: echo hi\n"), command="check")
    assert lines[0] == "error: site.yml:4:7: unknown step type 'shel'"


def test_check_command_accepts_a_valid_playbook(project):
    project.write("site.yml", "- hosts: h1\n  tasks:\n    - debug: {msg: hi}\n")
    result = project.run("check", "site.yml", "-i", "hosts.ini")
    assert (result.exit_code, result.stdout) == (0, "ok: site.yml is valid (1 play, 1 task)\n")


def test_include_cycle(project):
    project.write("a.yml", "- import_tasks: b.yml\n")
    project.write("b.yml", "- import_tasks: a.yml\n")
    lines = run_bad(project, play("    - import_tasks: a.yml\n"))
    assert "include cycle: a.yml -> b.yml -> a.yml" in lines[0]


def test_alias_bomb_is_refused(project):
    bomb = ['a0: &a0 ["x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 10):
        bomb.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    text = (
        "- hosts: h1\n  vars:\n"
        + "".join(f"    {line}\n" for line in bomb)
        + "  tasks:\n    - shell: 'touch {marker}'\n"
    )
    lines = run_bad(project, text)
    assert "alias" in lines[0]


def test_deep_nesting_is_refused(project):
    text = (
        "- hosts: h1\n  vars:\n    deep: "
        + "[" * 10_000
        + "]" * 10_000
        + "\n  tasks:\n    - shell: 'touch {marker}'\n"
    )
    lines = run_bad(project, text)
    assert "nest" in lines[0]


def test_a_5mb_playbook_loads_or_is_refused(project):
    # How long it takes is measured by bench/bench_playbook.py (`corral check`).
    task = "    - name: task {i}\n      debug: {{msg: 'hello {i} {pad}'}}\n"
    pad = "x" * 200
    body = "".join(task.format(i=i, pad=pad) for i in range(20_000))
    project.write("big.yml", "- hosts: h1\n  tasks:\n" + body)
    assert (project.path / "big.yml").stat().st_size > 5_000_000
    result = project.run("check", "big.yml", "-i", "hosts.ini")
    assert result.exit_code in (0, 4)
    assert "Traceback" not in result.output
