"""Where vault passwords come from, and what a user sees when the password is wrong or missing."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from vault_helpers import PASSWORD, inline, vault_text

from corral.testing import CorralProject

CORRAL = str(Path(sys.executable).with_name("corral"))


@pytest.fixture
def project(corral_project: CorralProject) -> CorralProject:
    corral_project.write("pw.txt", PASSWORD + "\n")
    corral_project.write("hosts.ini", "localhost ansible_connection=local\n")
    corral_project.write("secrets.yml", vault_text("db_pass: pw-test-s3cret\n"))
    corral_project.write(
        "site.yml",
        """
        - hosts: all
          gather_facts: false
          vars_files: [secrets.yml]
          tasks:
            - assert: {that: "db_pass == 'pw-test-s3cret'"}
        """,
    )
    return corral_project


def run(project: CorralProject, *args: str, env: dict[str, str] | None = None) -> object:
    return project.run("run", "site.yml", "-i", "hosts.ini", *args, env=env)


def test_a_wrong_password_names_the_file_and_exits_4(project: CorralProject) -> None:
    project.write("wrong.txt", "not-the-password\n")
    result = project.run("run", "site.yml", "-i", "hosts.ini", "--vault-password-file", "wrong.txt")
    assert result.exit_code == 4
    lines = result.stderr.splitlines()
    assert lines[0].startswith("error: ")
    assert "secrets.yml: cannot decrypt this file: no vault password given matches it" in lines[0]
    assert "--vault-id" in lines[1]
    assert "--vault-password-file" in lines[1]
    assert "Traceback" not in result.output


def test_a_wrong_password_for_an_inline_value_names_its_line(project: CorralProject) -> None:
    project.write("wrong.txt", "not-the-password\n")
    playbook = textwrap.dedent(
        """
        - hosts: all
          gather_facts: false
          vars:
            api_key: API_KEY
          tasks: []
        """
    ).lstrip()
    project.write("site.yml", playbook.replace("API_KEY", inline("k-s3cret", 4)))
    result = project.run("run", "site.yml", "-i", "hosts.ini", "--vault-password-file", "wrong.txt")
    assert result.exit_code == 4
    assert result.stderr.startswith("error: site.yml:4:14: cannot decrypt this value: "), (
        result.stderr
    )


def test_a_missing_password_says_the_file_is_encrypted_and_how_to_give_one(
    project: CorralProject,
) -> None:
    result = project.run("check", "site.yml", "-i", "hosts.ini")
    assert result.exit_code == 4
    error, hint = result.stderr.splitlines()[:2]
    assert (
        error == "error: secrets.yml: this file is vault-encrypted and no vault password was given"
    )
    assert hint.startswith("hint: give the vault password with --vault-password-file FILE")
    assert "--ask-vault-pass" in hint
    assert "--vault-id" in hint


def test_a_password_file_that_is_not_there_is_a_usage_error(project: CorralProject) -> None:
    result = project.run("run", "site.yml", "-i", "hosts.ini", "--vault-password-file", "nope.txt")
    assert result.exit_code == 5
    assert "the vault password file nope.txt was not found" in result.stderr


def test_an_executable_password_file_is_run_and_its_output_used(project: CorralProject) -> None:
    script = project.write("pw.sh", f"#!/bin/sh\necho '{PASSWORD}'\n")
    script.chmod(0o700)
    result = run(project, "--vault-password-file", "pw.sh")
    assert result.exit_code == 0, result.output


def test_a_client_script_is_asked_for_the_vault_id(project: CorralProject) -> None:
    project.write("secrets.yml", vault_text("db_pass: pw-test-s3cret\n", "prod-pw", "prod"))
    script = project.write(
        "vault-pass-client.py",
        f"""#!{sys.executable}
import sys
assert sys.argv[1:] == ["--vault-id", "prod"], sys.argv
print("prod-pw")
""",
    )
    script.chmod(0o700)
    result = run(project, "--vault-id", "prod@vault-pass-client.py")
    assert result.exit_code == 0, result.output


def test_a_failing_password_script_is_an_error_naming_it(project: CorralProject) -> None:
    script = project.write("pw.sh", "#!/bin/sh\nexit 3\n")
    script.chmod(0o700)
    result = run(project, "--vault-password-file", "pw.sh")
    assert result.exit_code == 5
    assert "pw.sh exited with 3" in result.stderr


def test_vault_ids_choose_the_password_of_their_label(project: CorralProject) -> None:
    project.write("dev.txt", "dev-password\n")
    project.write("prod.txt", "prod-password\n")
    project.write("dev.yml", vault_text("dev_pw: dev-s3cret\n", "dev-password", "dev"))
    project.write("prod.yml", vault_text("prod_pw: prod-s3cret\n", "prod-password", "prod"))
    project.write(
        "site.yml",
        """
        - hosts: all
          gather_facts: false
          vars_files: [dev.yml, prod.yml]
          tasks:
            - assert: {that: ["dev_pw == 'dev-s3cret'", "prod_pw == 'prod-s3cret'"]}
        """,
    )
    both = run(project, "--vault-id", "dev@dev.txt", "--vault-id", "prod@prod.txt")
    assert both.exit_code == 0, both.output
    # As in Ansible, the label only says which password to try first: all are tried.
    swapped = run(project, "--vault-id", "prod@dev.txt", "--vault-id", "dev@prod.txt")
    assert swapped.exit_code == 0, swapped.output
    only_dev = run(project, "--vault-id", "dev@dev.txt")
    assert only_dev.exit_code == 4
    assert "prod.yml: cannot decrypt this file, encrypted with vault id 'prod'" in only_dev.stderr
    assert "(tried vault ids: dev)" in only_dev.stderr


def test_the_environment_gives_password_files_and_identities(project: CorralProject) -> None:
    pw = str(project.path / "pw.txt")
    assert run(project, env={"ANSIBLE_VAULT_PASSWORD_FILE": pw}).exit_code == 0
    assert (
        run(project, env={"ANSIBLE_VAULT_IDENTITY_LIST": f"x@/nonexistent,main@{pw}"}).exit_code
        == 0
    )


def test_ask_vault_pass_reads_the_password_from_the_terminal(project: CorralProject) -> None:
    env = {**os.environ, "CORRAL_HOME": project.env["CORRAL_HOME"], "NO_COLOR": "1"}
    for flag in ("--ask-vault-pass", "-J", "--vault-id=prompt"):
        proc = subprocess.run(
            [CORRAL, "run", "site.yml", "-i", "hosts.ini", flag],
            cwd=project.path,
            input=PASSWORD + "\n",
            capture_output=True,
            text=True,
            env=env,
            start_new_session=True,  # no terminal: the prompt reads standard input
            timeout=120,
            check=False,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "Vault password" in proc.stderr + proc.stdout


def test_ansible_cfg_gives_passwords_and_the_environment_wins(project: CorralProject) -> None:
    pw = str(project.path / "pw.txt")
    project.write("wrong.txt", "not-the-password\n")
    project.write("ansible.cfg", "[defaults]\nvault_password_file = pw.txt\n")
    assert run(project).exit_code == 0
    project.write("ansible.cfg", f"[defaults]\nvault_identity_list = main@{pw}\n")
    assert run(project).exit_code == 0
    project.write("ansible.cfg", "[defaults]\nvault_password_file = wrong.txt\n")
    assert run(project).exit_code == 4
    assert run(project, env={"ANSIBLE_VAULT_PASSWORD_FILE": pw}).exit_code == 0
