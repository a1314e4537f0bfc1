"""Secret params stay secret by every route: ``-p``, ``-p @file``, ``-e``, ``-e @file``.

Issue 14, items 1 and 2: the recorded command line kept ``-p db_password=VALUE`` in
clear (shown by ``corral show`` and the reports), and ``-e db_password=VALUE`` replaced
the secret with a plain string that was printed and stored.
"""

from __future__ import annotations

import json

import pytest
from secret_sinks import history_outputs, leaks, run_ids, store_bytes

from corral.testing import CorralProject

PLAYBOOK = """
- name: deploy
  hosts: all
  params:
    db_password: {type: string, secret: true}
    version: {type: string, default: "1.0"}
  tasks:
    - debug: {msg: "password is {{ db_password }}"}
    - debug: {var: db_password}
    - shell: "printf '%s' {{ db_password | quote }} > {{ out }}"
"""

SECRET = "Pw-9fQz-params"


@pytest.fixture
def project(corral_project: CorralProject) -> CorralProject:
    corral_project.write("site.yml", PLAYBOOK)
    corral_project.write("hosts.ini", "localhost ansible_connection=local\n")
    return corral_project


def run(project: CorralProject, *args: str) -> str:
    """Run the playbook with ``args`` as a user would; every sink's text, joined."""
    out = project.path / "out.txt"
    result = project.run_subprocess(
        "run", "site.yml", "-i", "hosts.ini", "-e", f"out={out}", "-v", *args
    )
    assert result.exit_code == 0, result.output
    assert out.read_text() == SECRET, "the secret renders into the command"
    assert "password is ********" in result.stdout
    return result.output


def assert_nowhere(project: CorralProject, console: str) -> None:
    sinks: dict[str, str | bytes] = {"console": console, **store_bytes(project)}
    sinks.update(history_outputs(project, run_ids(project)))
    assert leaks({"secret": SECRET}, sinks) == []


@pytest.mark.parametrize(
    "args",
    [
        ("-p", f"db_password={SECRET}"),
        (f"--param=db_password={SECRET}",),
        ("--param", f"db_password={SECRET}", "-p", "version=2.0"),
    ],
    ids=["-p", "--param=", "--param"],
)
def test_a_secret_param_is_redacted_in_the_recorded_command_line(
    project: CorralProject, args: tuple[str, ...]
) -> None:
    console = run(project, *args)
    assert_nowhere(project, console)
    shown = project.run_subprocess("show", "last")
    assert "db_password=********" in shown.stdout, shown.stdout
    # What is not secret stays readable.
    assert "hosts.ini" in shown.stdout


def test_a_secret_param_from_a_file_is_not_stored(project: CorralProject) -> None:
    project.write("params.yml", f"db_password: {SECRET}\n")
    console = run(project, "-p", "@params.yml")
    assert_nowhere(project, console)
    report = json.loads(project.run_subprocess("report", "last", "--format", "json").stdout)
    assert report["run"]["params"]["db_password"] == "********"


@pytest.mark.parametrize(
    "args",
    [
        ("-e", f"db_password={SECRET}"),
        ("-e", f"version=3 db_password={SECRET}"),
        ("-e", json.dumps({"db_password": SECRET})),
        ("-p", "db_password=decoy-value", "-e", f"db_password={SECRET}"),
    ],
    ids=["-e k=v", "-e words", "-e json", "-e over -p"],
)
def test_extra_vars_over_a_secret_param_stay_secret(
    project: CorralProject, args: tuple[str, ...]
) -> None:
    if "-p" not in args:
        args = ("-p", "db_password=decoy-value", *args)
    console = run(project, *args)
    assert_nowhere(project, console)
    report = json.loads(project.run_subprocess("report", "last", "--format", "json").stdout)
    assert report["run"]["extra_vars"]["db_password"] == "********"


def test_extra_vars_file_over_a_secret_param_stays_secret(project: CorralProject) -> None:
    project.write("vars.yml", f"db_password: {SECRET}\n")
    console = run(project, "-p", "db_password=decoy-value", "-e", "@vars.yml")
    assert_nowhere(project, console)


def test_a_resumed_run_asks_again_for_a_secret_given_with_e(project: CorralProject) -> None:
    project.write(
        "site.yml",
        PLAYBOOK + '    - fail: {msg: "stop here"}\n      when: stop | default(false) | bool\n',
    )
    out = project.path / "out.txt"
    first = project.run_subprocess(
        "run",
        "site.yml",
        "-i",
        "hosts.ini",
        "-e",
        f"out={out}",
        "-p",
        "db_password=decoy-value",
        "-e",
        f"db_password={SECRET}",
        "-e",
        "stop=true",
    )
    assert first.exit_code == 2, first.output
    # The param is given again; the secret given with -e is not stored, so it is asked for.
    again = project.run_subprocess("resume", "last", "-p", "db_password=decoy-value")
    assert again.exit_code == 5, again.output
    assert "-e db_password=..." in again.stderr, again.stderr
    assert SECRET not in again.output
