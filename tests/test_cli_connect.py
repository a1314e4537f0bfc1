"""ansible-playbook's command-line habits on ``corral run``, and ``ansible.cfg`` under them.

-u, -b, --become-user, -K, -k, --private-key, -c, -f; --list-hosts/--list-tasks/--list-tags,
--syntax-check; errors as JSON events with --output json.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from corral.testing import CorralProject

HOSTS = """\
[web]
w1 ansible_connection=local
w2 ansible_connection=local ansible_user=fromvars
"""

SHOW = """
- hosts: web
  gather_facts: false
  tasks:
    - debug:
        msg: >-
          user={{ ansible_user | default('-') }}
          become={{ ansible_become | default('-') }}
          become_user={{ ansible_become_user | default('-') }}
          key={{ ansible_ssh_private_key_file | default('-') }}
"""


@pytest.fixture
def project(corral_project: CorralProject, tmp_path: Path) -> CorralProject:
    home = tmp_path / "home"
    home.mkdir()
    corral_project.env.update({"CORRAL_STORE": "off", "HOME": str(home)})
    corral_project.write("hosts.ini", HOSTS)
    corral_project.write("show.yml", SHOW)
    return corral_project


def messages(result) -> dict[str, str]:
    return {
        e["host"]: e["result"]["msg"]
        for e in result.json_lines()
        if e["event"] == "task_result" and e["action"] == "debug"
    }


def test_user_become_and_key_from_the_command_line(project: CorralProject) -> None:
    result = project.run(
        "run", "show.yml", "-i", "hosts.ini", "--output", "json",
        "-u", "deploy", "-b", "--become-user", "app", "--private-key", "keys/id",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    shown = messages(result)
    key = project.path / "keys/id"
    assert shown["w1"] == f"user=deploy become=True become_user=app key={key}"
    # A host variable still beats the command line, as in Ansible.
    assert shown["w2"].startswith("user=fromvars become=True")


def test_ansible_cfg_gives_defaults_and_the_command_line_wins(project: CorralProject) -> None:
    project.write(
        "ansible.cfg",
        """
        [defaults]
        inventory = hosts.ini
        remote_user = cfguser  ; who we log in as
        private_key_file = ~/.ssh/deploy_key
        [privilege_escalation]
        become = yes
        become_user = cfgapp
        """,
    )
    result = project.run("run", "show.yml", "--output", "json")  # no -i: ansible.cfg's
    assert result.exit_code == 0, result.output
    home = project.env["HOME"]
    assert messages(result)["w1"] == (
        f"user=cfguser become=True become_user=cfgapp key={home}/.ssh/deploy_key"
    )
    result = project.run("run", "show.yml", "--output", "json", "-u", "cli")
    assert messages(result)["w1"].startswith("user=cli become=True become_user=cfgapp")
    env = {"ANSIBLE_REMOTE_USER": "envuser", "ANSIBLE_BECOME_USER": "envapp"}
    result = project.run("run", "show.yml", "--output", "json", env=env)
    assert messages(result)["w1"].startswith("user=envuser become=True become_user=envapp")


def test_become_false_on_a_task_beats_b(project: CorralProject) -> None:
    project.write(
        "become.yml",
        """
        - hosts: w1
          gather_facts: false
          tasks:
            - name: as myself
              command: id -un
              become: false
        """,
    )
    result = project.run("run", "become.yml", "-i", "hosts.ini", "-b", "--output", "json")
    assert result.exit_code == 0, result.output  # no sudo was tried


def test_connection_option_reaches_hosts_that_set_none(project: CorralProject) -> None:
    project.write("bare.ini", "n1\n")
    project.write("echo.yml", "- hosts: n1\n  tasks:\n    - command: echo reached\n")
    result = project.run("run", "echo.yml", "-i", "bare.ini", "-c", "local")
    assert result.exit_code == 0, result.output
    assert "changed: [n1]" in result.stdout


def test_an_unsupported_become_method_is_a_usage_error(project: CorralProject) -> None:
    result = project.run("run", "show.yml", "-i", "hosts.ini", "--become-method", "su")
    assert result.exit_code == 5
    assert "become method 'su' is not supported" in result.stderr


def _run_with_input(project: CorralProject, text: str, *args: str) -> subprocess.CompletedProcess:
    command = [str(Path(sys.executable).with_name("corral")), *args]
    return subprocess.run(
        command,
        cwd=project.path,
        env=project._environ(None),
        input=text,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_ask_become_pass_and_ask_pass_are_secrets(project: CorralProject) -> None:
    project.write(
        "pw.yml",
        """
        - hosts: w1
          gather_facts: false
          tasks:
            - debug: {msg: "ssh={{ ansible_password }} become={{ ansible_become_password }}"}
        """,
    )
    out = _run_with_input(
        project, "sshpw-41\nbecomepw-42\n", "run", "pw.yml", "-i", "hosts.ini", "-k", "-K"
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SSH password:" in out.stderr
    assert "BECOME password" in out.stderr
    assert "ssh=******** become=********" in out.stdout
    assert "sshpw-41" not in out.stdout + out.stderr
    assert "becomepw-42" not in out.stdout + out.stderr


def test_forks_from_ansible_cfg_and_bad_values(project: CorralProject) -> None:
    project.write("ansible.cfg", "[defaults]\nforks = 0\n")
    result = project.run("run", "show.yml", "-i", "hosts.ini")
    assert result.exit_code == 5
    assert "forks must be 1 or more" in result.stderr
    project.write("ansible.cfg", "[defaults]\nforks = two\n")
    result = project.run("run", "show.yml", "-i", "hosts.ini", "--output", "json")
    assert result.exit_code == 4
    (event,) = result.json_lines()
    assert event["event"] == "error"
    assert event["file"] == str(project.path / "ansible.cfg")
    assert event["line"] == 2
    assert result.stderr.startswith(f"error: {project.path / 'ansible.cfg'}:2: forks: must be")


def test_verbose_lists_the_keys_corral_ignores_once(project: CorralProject) -> None:
    project.write(
        "ansible.cfg",
        "[defaults]\nstdout_callback = yaml\nretry_files_enabled = False\n"
        "[ssh_connection]\npipelining = True\n",
    )
    quiet = project.run("run", "show.yml", "-i", "hosts.ini")
    assert "ignored keys" not in quiet.output
    loud = project.run("run", "show.yml", "-i", "hosts.ini", "-v")
    assert loud.exit_code == 0, loud.output
    line = (
        "ansible.cfg: ignored keys: defaults.stdout_callback, defaults.retry_files_enabled, "
        "ssh_connection.pipelining"
    )
    assert loud.stderr.count(line) == 1


@pytest.mark.parametrize(("gathering", "gathered"), [("explicit", 1), ("implicit", 2), (None, 2)])
def test_gathering_explicit_gathers_facts_only_for_plays_that_ask(
    project: CorralProject, gathering: str | None, gathered: int
) -> None:
    if gathering is not None:
        project.write("ansible.cfg", f"[defaults]\ngathering = {gathering}\n")
    project.write(
        "facts.yml",
        """
        - hosts: w1
          tasks:
            - debug: {msg: first}
        - hosts: w1
          gather_facts: true
          tasks:
            - debug: {msg: second}
        """,
    )
    result = project.run("run", "facts.yml", "-i", "hosts.ini")
    assert result.exit_code == 0, result.output
    assert result.stdout.count("TASK [Gathering Facts]") == gathered


LISTED = """
- name: Web servers
  hosts: web
  tags: [web]
  tasks:
    - name: first task
      debug: {msg: hi}
      tags: [b, a]
    - block:
        - name: in block
          debug: {msg: x}
      tags: blk
    - debug: {msg: unnamed}
- hosts: w2
  gather_facts: false
  tasks:
    - {name: t2, command: echo}
"""


def test_list_hosts_tasks_and_tags_as_ansible_prints_them(project: CorralProject) -> None:
    project.write("site.yml", LISTED)
    result = project.run(
        "run", "site.yml", "-i", "hosts.ini", "--list-hosts", "--list-tasks", "--list-tags"
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "",
        "playbook: site.yml",
        "",
        "  play #1 (web): Web servers\tTAGS: [web]",
        "    pattern: ['web']",
        "    hosts (2):",
        "      w1",
        "      w2",
        "    tasks:",
        "      first task\tTAGS: [a, b, web]",
        "      in block\tTAGS: [blk, web]",
        "      debug\tTAGS: [web]",
        "      TASK TAGS: [a, b, blk, web]",
        "",
        "  play #2 (w2): w2\tTAGS: []",
        "    pattern: ['w2']",
        "    hosts (1):",
        "      w2",
        "    tasks:",
        "      t2\tTAGS: []",
        "      TASK TAGS: []",
    ]


def test_list_options_follow_limit_and_tags(project: CorralProject) -> None:
    project.write("site.yml", LISTED)
    result = project.run(
        "run", "site.yml", "-i", "hosts.ini", "--list-hosts", "--list-tasks",
        "-l", "w1", "-t", "blk",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "      w2" not in result.stdout.split("play #2")[0]
    assert "first task" not in result.stdout
    assert "in block\tTAGS: [blk, web]" in result.stdout


def test_syntax_check_checks_and_runs_nothing(project: CorralProject) -> None:
    project.write("site.yml", LISTED)
    result = project.run("run", "site.yml", "-i", "hosts.ini", "--syntax-check")
    assert result.exit_code == 0, result.output
    assert result.stdout == "\nplaybook: site.yml\n"
    project.write("bad.yml", "- hosts: web\n  tasks:\n    - debugg: {msg: x}\n")
    result = project.run("run", "bad.yml", "-i", "hosts.ini", "--syntax-check")
    assert result.exit_code == 4
    assert "bad.yml:3:7" in result.stderr


def test_an_invalid_playbook_is_a_json_error_event(project: CorralProject) -> None:
    project.write("bad.yml", "- hosts: web\n  tasks:\n    - debugg: {msg: x}\n")
    result = project.run("run", "bad.yml", "-i", "hosts.ini", "--output", "json")
    assert result.exit_code == 4
    (event,) = result.json_lines()
    assert event["event"] == "error"
    assert event["v"] == 1
    assert (Path(event["file"]).name, event["line"], event["col"]) == ("bad.yml", 3, 7)
    assert "debugg" in event["message"]
    assert event["hint"] == "did you mean 'debug'?"
    assert event["exit_code"] == 4


def test_resume_keeps_the_command_line_connection_options(project: CorralProject) -> None:
    flag = project.path / "flag"
    project.write(
        "flaky.yml",
        f"""
        - hosts: w1
          gather_facts: false
          tasks:
            - command: test -f {flag}
            - debug: {{msg: "user={{{{ ansible_user }}}} become={{{{ ansible_become }}}}"}}
        """,
    )
    store = {"CORRAL_STORE": ""}
    first = project.run(
        "run", "flaky.yml", "-i", "hosts.ini", "-u", "deploy", "-b", "--output", "json", env=store
    )
    assert first.exit_code == 2, first.output
    run_id = first.json_lines()[0]["run_id"]
    flag.touch()
    resumed = project.run("resume", run_id, "--output", "json", env=store)
    assert resumed.exit_code == 0, resumed.output
    assert "user=deploy become=True" in messages(resumed)["w1"]


def test_corral_inventory_reads_ansible_cfg_inventory(project: CorralProject) -> None:
    project.write("ansible.cfg", "[defaults]\ninventory = ./hosts.ini\n")
    result = project.run("inventory", "--graph")
    assert result.exit_code == 0, result.output
    assert "w2" in result.stdout


def test_become_method_from_ansible_cfg_must_be_sudo(project: CorralProject) -> None:
    project.write("ansible.cfg", "[privilege_escalation]\nbecome_method = su\n")
    result = project.run("run", "show.yml", "-i", "hosts.ini")
    assert result.exit_code == 4
    assert result.stderr.startswith(
        f"error: {project.path / 'ansible.cfg'}:2: become method 'su' is not supported"
    )


def test_plan_and_resume_errors_are_json_events_too(project: CorralProject) -> None:
    project.write("bad.yml", "- hosts: web\n  tasks:\n    - debugg: {msg: x}\n")
    plan = project.run("plan", "bad.yml", "-i", "hosts.ini", "--output", "json")
    assert plan.exit_code == 4
    assert [e["event"] for e in plan.json_lines()] == ["error"]
    resume = project.run("resume", "nosuchrun", "--output", "json", env={"CORRAL_STORE": ""})
    assert resume.exit_code == 5
    (event,) = resume.json_lines()
    assert (event["event"], event["exit_code"]) == ("error", 5)


def test_check_knows_the_variables_ansible_cfg_defines(project: CorralProject) -> None:
    project.write("bare.ini", "n1 ansible_connection=local\n")
    project.write("who.yml", "- hosts: n1\n  tasks:\n    - debug: {msg: '{{ ansible_user }}'}\n")
    assert project.run("check", "who.yml", "-i", "bare.ini").exit_code == 4
    project.write("ansible.cfg", "[defaults]\nremote_user = deploy\n")
    result = project.run("check", "who.yml", "-i", "bare.ini")
    assert result.exit_code == 0, result.output


def test_a_plays_remote_user_is_its_tasks_ansible_user(project: CorralProject) -> None:
    # As Ansible's PlayContext.update_vars: the keyword gives way to a host's own variable.
    project.write(
        "as.yml",
        "- hosts: web\n  gather_facts: false\n  remote_user: deploy\n"
        "  tasks:\n    - debug: {msg: 'user={{ ansible_user }}'}\n",
    )
    assert project.run("check", "as.yml", "-i", "hosts.ini").exit_code == 0
    result = project.run("run", "as.yml", "-i", "hosts.ini")
    assert result.exit_code == 0, result.output
    assert "user=deploy" in result.stdout  # w1
    assert "user=fromvars" in result.stdout  # w2 sets ansible_user


def test_ansible_user_has_no_default(project: CorralProject) -> None:
    # ansible-core 2.19 leaves it undefined too when nothing names the user.
    project.write("bare.ini", "n1 ansible_connection=local\n")
    project.write("who.yml", "- hosts: n1\n  tasks:\n    - debug: {msg: '{{ ansible_user }}'}\n")
    result = project.run("check", "who.yml", "-i", "bare.ini")
    assert result.exit_code == 4
    assert "who.yml:3:7: undefined variable 'ansible_user'" in result.stderr
    assert "with -e or -u, or give the play remote_user" in result.stderr
