"""What holds for commands keeps holding: ``command`` runs no shell, ``quote`` keeps one word.

A hostile value (from inventory, ``-e``, a fact or a registered result) must not turn into
shell syntax: ``command`` (free form or ``argv``) runs its program directly, and in
``shell`` a value passed through ``| quote`` reaches the program as exactly one argument.
"""

from __future__ import annotations

import json

import pytest

from corral.testing import CorralProject

HOSTILE = "x; touch PWNED; $(touch PWNED2) `touch PWNED3` | touch PWNED4 && touch PWNED5 'q\" \n"


def run(corral_project: CorralProject, tasks: str, exit_code: int = 0) -> str:
    corral_project.write("hosts.ini", "localhost ansible_connection=local\n")
    corral_project.write(
        "site.yml", f"- hosts: localhost\n  gather_facts: false\n  tasks:\n{tasks}"
    )
    corral_project.write("vars.json", json.dumps({"evil": HOSTILE}))
    result = corral_project.run("run", "site.yml", "-i", "hosts.ini", "-e", "@vars.json")
    assert result.exit_code == exit_code, result.output
    assert "Traceback" not in result.output
    planted = [p.name for p in corral_project.path.glob("PWNED*")]
    assert planted == [], f"a shell ran: {planted}"
    return result.output


@pytest.mark.parametrize(
    ("task", "exit_code"),
    [
        ("    - command: echo x; touch PWNED\n", 0),
        ("    - command: {argv: [echo, '{{ evil }}']}\n", 0),
        ("    - command: echo $(touch PWNED) `touch PWNED2` && touch PWNED3\n", 0),
        # The value's stray quote makes the line unsplittable: the task fails, nothing runs.
        ("    - command: 'echo {{ evil }}'\n", 2),
        ("    - command: {cmd: 'echo $(touch PWNED) {{ evil }}'}\n", 2),
    ],
)
def test_command_runs_no_shell(corral_project: CorralProject, task: str, exit_code: int) -> None:
    run(corral_project, task + "      register: out\n", exit_code)


def test_a_quoted_value_stays_one_argument_in_a_shell(corral_project: CorralProject) -> None:
    output = run(
        corral_project,
        "    - shell: \"printf '%s\\\\n' {{ evil | quote }} | wc -l\"\n"
        "      register: lines\n"
        "    - shell: \"printf '[%s]' {{ evil | quote }}\"\n"
        "      register: printed\n"
        "    - assert:\n"
        "        that:\n"
        "          - lines.stdout | trim == '2'\n"  # the value holds one newline
        "          - printed.stdout == '[' ~ evil ~ ']'\n",
    )
    assert "PWNED" not in output or "touch PWNED" in output  # echoed as text, never run
