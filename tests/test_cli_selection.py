"""What the command line selects: hosts (--limit, patterns), --start-at-task, and params (-p/-e)."""

from __future__ import annotations

import pytest

from corral.testing import CorralProject

HOSTS = """\
[web]
w1 ansible_connection=local
w2 ansible_connection=local
[db]
d1 ansible_connection=local
"""

TWO_PLAYS = """
- hosts: web
  tasks:
    - {name: greet, debug: {msg: "hello {{ inventory_hostname }}"}}
- hosts: db
  tasks:
    - {name: store, debug: {msg: stored}}
"""


@pytest.fixture
def project(corral_project: CorralProject) -> CorralProject:
    corral_project.env["CORRAL_STORE"] = "off"
    corral_project.write("hosts.ini", HOSTS)
    corral_project.write("site.yml", TWO_PLAYS)
    return corral_project


# -- hosts ---------------------------------------------------------------------


def test_a_limit_that_selects_no_host_is_an_error_naming_it(project: CorralProject) -> None:
    result = project.run("run", "site.yml", "-i", "hosts.ini", "--limit", "nosuch")
    assert result.exit_code == 5
    assert result.stderr.startswith(
        "error: Specified inventory, host pattern and/or --limit leaves us with no hosts to "
        "target: --limit 'nosuch'"
    )
    assert "hello" not in result.stdout


def test_a_limit_file_that_selects_no_host_is_an_error(project: CorralProject) -> None:
    project.write("retry.txt", "gone1\ngone2\n")
    result = project.run("run", "site.yml", "-i", "hosts.ini", "--limit", "@retry.txt")
    assert result.exit_code == 5
    assert "--limit '@retry.txt'" in result.stderr


def test_check_and_plan_refuse_the_same_limit(project: CorralProject) -> None:
    for command in ("check", "plan"):
        result = project.run(command, "site.yml", "-i", "hosts.ini", "--limit", "nosuch")
        assert result.exit_code == 5, (command, result.output)


def test_patterns_that_match_no_host_of_the_inventory_are_an_error(
    project: CorralProject,
) -> None:
    project.write("other.yml", "- hosts: nosuch\n  tasks:\n    - debug: {msg: x}\n")
    result = project.run("run", "other.yml", "-i", "hosts.ini")
    assert result.exit_code == 4
    assert "no host of the inventory matches host pattern 'nosuch'" in result.stderr


def test_a_play_that_matches_nothing_while_others_run_is_skipped_with_a_warning(
    project: CorralProject,
) -> None:
    # As in Ansible: "skipping: no hosts matched" for the play, the run goes on.
    result = project.run("run", "site.yml", "-i", "hosts.ini", "--limit", "web")
    assert result.exit_code == 0, result.output
    assert "hello w1" in result.stdout
    assert "no hosts matched pattern 'db'" in result.output


def test_what_a_play_without_hosts_uses_undefined_is_a_warning(project: CorralProject) -> None:
    # Ansible skips the play: kubespray's bastion play on an inventory without a bastion.
    project.write(
        "idle.yml",
        "- hosts: web\n  tasks:\n    - debug: {msg: hi}\n"
        "- hosts: bastion[0]\n  tasks:\n    - debug: {msg: '{{ ansible_user }}'}\n",
    )
    result = project.run("check", "idle.yml", "-i", "hosts.ini")
    assert result.exit_code == 0, result.output
    assert (
        "warning: idle.yml:6:7: undefined variable 'ansible_user' in task 'debug'; its play "
        "selects no host, so only a host add_host or group_by add would fail on it"
    ) in result.stderr
    # With a host to run on, it is the error it would be at run time.
    project.write("hosts2.ini", HOSTS + "[bastion]\nb1 ansible_connection=local\n")
    result = project.run("check", "idle.yml", "-i", "hosts2.ini")
    assert result.exit_code == 4
    assert "idle.yml:6:7: undefined variable 'ansible_user'" in result.stderr


def test_a_play_without_hosts_is_still_parsed(project: CorralProject) -> None:
    project.write(
        "idle.yml",
        "- hosts: web\n  tasks:\n    - debug: {msg: hi}\n"
        "- hosts: nosuch\n  tasks:\n    - debug: {msg: '{{ x | nofilter }}'}\n",
    )
    result = project.run("check", "idle.yml", "-i", "hosts.ini")
    assert result.exit_code == 4
    assert "idle.yml:6:7: unknown filter 'nofilter'" in result.stderr


def test_a_limit_that_selects_some_hosts_runs_on_them(project: CorralProject) -> None:
    result = project.run("run", "site.yml", "-i", "hosts.ini", "--limit", "w2,nosuch")
    assert result.exit_code == 0, result.output
    assert "hello w2" in result.stdout
    assert "hello w1" not in result.stdout


def test_a_templated_pattern_is_not_refused_before_the_run(project: CorralProject) -> None:
    project.write(
        "templated.yml",
        "- hosts: '{{ target }}'\n  gather_facts: false\n  tasks:\n    - debug: {msg: x}\n",
    )
    result = project.run("check", "templated.yml", "-i", "hosts.ini", "-e", "target=web")
    assert result.exit_code == 0, result.output


def test_a_templated_pattern_is_rendered_with_the_params_and_extra_vars(
    project: CorralProject,
) -> None:
    project.write(
        "templated.yml",
        "- hosts: '{{ target }}'\n  gather_facts: false\n"
        "  params: {target: {type: string, default: db}}\n"
        "  tasks:\n    - debug: {msg: 'on {{ inventory_hostname }}'}\n",
    )
    by_param = project.run("run", "templated.yml", "-i", "hosts.ini", "-p", "target=web")
    assert by_param.exit_code == 0, by_param.output
    assert "on w1" in by_param.stdout
    assert "on w2" in by_param.stdout
    assert "on d1" not in by_param.stdout
    by_default = project.run("run", "templated.yml", "-i", "hosts.ini")
    assert "on d1" in by_default.stdout
    assert "on w1" not in by_default.stdout
    planned = project.run("plan", "templated.yml", "-i", "hosts.ini", "-p", "target=web")
    assert planned.exit_code == 0, planned.output
    assert "2 hosts: w1, w2" in planned.stdout
    by_extra = project.run("run", "templated.yml", "-i", "hosts.ini", "-e", "target=w2")
    assert "on w2" in by_extra.stdout
    assert "on w1" not in by_extra.stdout


def test_no_host_error_is_a_json_event_with_output_json(project: CorralProject) -> None:
    result = project.run("run", "site.yml", "-i", "hosts.ini", "-l", "nosuch", "--output", "json")
    assert result.exit_code == 5
    (event,) = result.json_lines()
    assert event["event"] == "error"
    assert event["exit_code"] == 5
    assert "--limit 'nosuch'" in event["message"]
    assert event["hint"]


# -- --start-at-task -------------------------------------------------------------


def test_start_at_task_that_matches_no_task_is_an_error(project: CorralProject) -> None:
    result = project.run("run", "site.yml", "-i", "hosts.ini", "--start-at-task", "nosuch*")
    assert result.exit_code == 5
    assert "No matching task 'nosuch*' found" in result.stderr
    assert "hello" not in result.stdout


def test_start_at_task_that_matches_starts_there(project: CorralProject) -> None:
    result = project.run("run", "site.yml", "-i", "hosts.ini", "--start-at-task", "store")
    assert result.exit_code == 0, result.output
    assert "hello" not in result.stdout
    assert "stored" in result.stdout


# -- params -------------------------------------------------------------------------

PARAMS = """
- hosts: web
  params:
    version: {type: string, pattern: "^[0-9]+[.][0-9]+$"}
    port: {type: integer, default: 8080}
  tasks:
    - debug: {msg: "v{{ version }} port {{ port + 1 }}"}
"""


def test_check_accepts_p_for_a_required_param(project: CorralProject) -> None:
    project.write("params.yml", PARAMS)
    missing = project.run("check", "params.yml", "-i", "hosts.ini")
    assert missing.exit_code == 4
    assert "version: required" in missing.stderr
    given = project.run("check", "params.yml", "-i", "hosts.ini", "-p", "version=1.2")
    assert given.exit_code == 0, given.output


@pytest.mark.parametrize("command", ["check", "plan", "run"])
def test_e_satisfies_a_declared_param(project: CorralProject, command: str) -> None:
    project.write("params.yml", PARAMS)
    result = project.run(command, "params.yml", "-i", "hosts.ini", "-e", "version=1.2")
    assert result.exit_code == 0, result.output


def test_e_wins_over_p_and_is_converted_to_the_params_type(project: CorralProject) -> None:
    project.write("params.yml", PARAMS)
    result = project.run(
        "run", "params.yml", "-i", "hosts.ini", "-l", "w1",
        "-p", "version=1.0", "-e", "version=2.5", "-e", "port=9000",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "v2.5 port 9001" in result.stdout  # an integer: + 1 works


def test_e_is_checked_against_the_params_declaration(project: CorralProject) -> None:
    project.write("params.yml", PARAMS)
    result = project.run("check", "params.yml", "-i", "hosts.ini", "-e", "version=banana")
    assert result.exit_code == 4
    assert "version: 'banana' does not match" in result.stderr
