"""What the property tests found: each input, as a user would give it, ends in a clean error.

Before the fixes, each of these ended in a traceback (exit 1, "internal error") or, for
the host range, in a controller that ran out of memory.
"""

from __future__ import annotations

import pytest
import yaml

from corral.playbook.yaml import load as yamlload
from corral.testing import CorralProject

LONG = "a" * 300  # longer than any file name the system allows (255 bytes)
HUGE = "9" * 5000  # more digits than int() converts (4,300)


def _clean(result: object, code: int, message: str) -> None:
    output = getattr(result, "output", "")
    assert getattr(result, "exit_code", None) == code, output
    assert message in output, output
    assert "Traceback" not in output
    assert "internal error" not in output


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("web[0:10000000000]", "names more than 100,000 hosts"),
        ("web[0:99999][0:99999]", "names more than 100,000 hosts"),
        (f"web[0:{HUGE}]", "numbers too large for a host range"),
        (f"web[0:9:{HUGE}]", "numbers too large for a host range"),
    ],
)
def test_a_host_range_too_big_to_expand_is_refused(
    corral_project: CorralProject, entry: str, message: str
) -> None:
    corral_project.write("hosts.ini", f"[web]\n{entry}\n")
    result = corral_project.run_subprocess("inventory", "--list", "-i", "hosts.ini", timeout=60)
    _clean(result, 4, message)
    assert "hosts.ini:2" in result.output


def test_a_large_range_within_the_bound_still_expands(corral_project: CorralProject) -> None:
    corral_project.write("hosts.ini", "[net]\n10.0.[0:255].[0:255]\n")
    result = corral_project.run("inventory", "--graph", "net", "-i", "hosts.ini")
    assert result.exit_code == 0, result.output
    assert "10.0.255.255" in result.output


@pytest.mark.parametrize(
    ("limit", "message"),
    [
        ("~a{4294967296}", "the repetition number is too large"),
        ("~" + "(" * 2000 + "a" + ")" * 2000, "nested too deeply"),
        (f"web[{HUGE}]", "subscript too large"),
        (f"web[0:{HUGE}]", "subscript too large"),
    ],
)
def test_a_host_pattern_python_cannot_evaluate_is_an_invalid_pattern(
    corral_project: CorralProject, limit: str, message: str
) -> None:
    corral_project.write("hosts.ini", "[web]\nweb1\n")
    result = corral_project.run("inventory", "--list", "-i", "hosts.ini", "--limit", limit)
    _clean(result, 4, message)


@pytest.mark.parametrize(
    ("play", "where"),
    [
        (f"- hosts: all\n  vars_files: [{LONG}]\n", "site.yml:2:16"),
        ('- hosts: all\n  vars_files: ["a\\0b"]\n', "site.yml:2:16"),
        (f"- hosts: all\n  tasks: [{{import_tasks: {LONG}}}]\n", "site.yml:2:12"),
        ('- hosts: all\n  tasks: [{import_tasks: "a\\0b"}]\n', "site.yml:2:12"),
        (f"- hosts: all\n  tasks: [{{include_tasks: {LONG}}}]\n", "site.yml:2:12"),
        (f"- import_playbook: {LONG}\n", "site.yml:1:3"),
        ('- import_playbook: "a\\0b"\n', "site.yml:1:3"),
    ],
)
def test_a_file_name_no_file_can_have_is_a_playbook_error(
    corral_project: CorralProject, play: str, where: str
) -> None:
    corral_project.write("site.yml", play)
    result = corral_project.run("check", "site.yml", "-i", "localhost,")
    _clean(result, 4, f"{where}: invalid file name")


@pytest.mark.parametrize(
    "task",
    [
        f"template: {{src: {LONG}, dest: out.txt}}",
        f"copy: {{src: {LONG}, dest: out.txt}}",
        f"debug: {{msg: \"{{{{ lookup('file', '{LONG}') }}}}\"}}",
    ],
)
def test_a_source_file_name_no_file_can_have_fails_the_task_cleanly(
    corral_project: CorralProject, task: str
) -> None:
    corral_project.write(
        "site.yml",
        f"- hosts: localhost\n  gather_facts: false\n  tasks:\n    - {task}\n",
    )
    corral_project.write("hosts.ini", "localhost ansible_connection=local\n")
    result = corral_project.run("run", "site.yml", "-i", "hosts.ini")
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert "File name too long" not in result.output
    assert "Could not find" in result.output or "could not find" in result.output


def test_an_escape_past_unicode_is_a_clean_error_without_libyaml(
    corral_project: CorralProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PyYAML's own scanner (used when it was built without libyaml) raised ValueError."""
    monkeypatch.setattr(yamlload, "_LOADER", yaml.SafeLoader)
    corral_project.write("site.yml", '- hosts: all\n  vars: {x: "a\\U00110000"}\n')
    result = corral_project.run("check", "site.yml", "-i", "localhost,")
    _clean(result, 4, "site.yml:2:15: escape sequence '\\\\U00110000' is past U+10FFFF")


def test_an_empty_list_in_vars_files_is_a_playbook_error(corral_project: CorralProject) -> None:
    corral_project.write("site.yml", "- hosts: all\n  vars_files:\n    - []\n")
    result = corral_project.run("check", "site.yml", "-i", "localhost,")
    _clean(result, 4, "site.yml:3:7: vars_files entry [] names no file")
