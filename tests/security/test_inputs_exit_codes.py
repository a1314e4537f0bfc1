"""Issue 14, item 13: one rule for the exit code of a bad ``-e`` or ``-p`` value.

A value the command line cannot parse at all (no ``=``, a missing ``@file``, inline
JSON/YAML that does not parse) is bad usage: exit 5. A value that parses but cannot be
used (a param's schema refuses it, the ``@file`` holds invalid YAML or no mapping) is
invalid input: exit 4, at ``file:line:col`` when it comes from a file. Either way: one
``error:`` line, a ``hint:``, no traceback, and nothing runs.
"""

from __future__ import annotations

import pytest

from corral.testing import CorralProject

PLAYBOOK = """\
- hosts: localhost
  gather_facts: false
  params:
    port: {type: integer, minimum: 1, default: 80}
  tasks:
    - debug: {msg: "{{ port }}"}
"""

FILES = {
    "bad.yml": "name: [unclosed\n",
    "list.yml": "- a\n- b\n",
    "twice.json": '{"port": 8080,\n "port": 9090}\n',
}

USAGE = [
    ("-e", "no_equals_sign", "not KEY=VALUE"),
    ("-e", "@missing.yml", "file not found"),
    ("-e", "{unclosed: [", "not valid JSON/YAML"),
    ("-e", "[1, 2]", "must be a mapping"),
    ("-p", "no_equals_sign", "not KEY=VALUE"),
    ("-p", "@missing.yml", "file not found"),
]

INVALID = [
    ("-e", "@bad.yml", "bad.yml:1:7"),
    ("-e", "@list.yml", "must hold a mapping"),
    ("-p", "@bad.yml", "bad.yml:1:7"),
    ("-p", "@list.yml", "must hold a mapping"),
    ("-p", "@twice.json", "twice.json:2:2"),
    ("-p", "port=eighty", "invalid params"),
    ("-p", "port=0", "invalid params"),
    ("-p", "prot=8080", "did you mean 'port'"),
]


def _run(project: CorralProject, option: str, value: str) -> tuple[int, str]:
    project.write("site.yml", PLAYBOOK)
    for name, text in FILES.items():
        project.write(name, text)
    result = project.run("run", "site.yml", option, value)
    return result.exit_code, result.stderr + result.stdout


def _assert_one_clean_error(output: str, words: str) -> None:
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, output
    assert words in errors[0], output
    assert "hint:" in output, output
    assert "Traceback" not in output, output
    assert "TASK [" not in output, output  # nothing ran


@pytest.mark.parametrize(("option", "value", "words"), USAGE)
def test_a_value_the_command_line_cannot_parse_is_usage(
    corral_project: CorralProject, option: str, value: str, words: str
) -> None:
    code, output = _run(corral_project, option, value)
    assert code == 5, output
    _assert_one_clean_error(output, words)


@pytest.mark.parametrize(("option", "value", "words"), INVALID)
def test_a_value_that_parses_but_is_invalid_is_exit_4(
    corral_project: CorralProject, option: str, value: str, words: str
) -> None:
    code, output = _run(corral_project, option, value)
    assert code == 4, output
    _assert_one_clean_error(output, words)


def test_a_good_params_file_and_extra_vars_file_still_work(corral_project: CorralProject) -> None:
    corral_project.write("site.yml", PLAYBOOK)
    corral_project.write("params.json", '{"port": 8080}\n')
    corral_project.write("vars.yml", "greeting: hi\n")
    result = corral_project.run("run", "site.yml", "-p", "@params.json", "-e", "@vars.yml")
    assert result.exit_code == 0, result.output
    assert "8080" in result.output
