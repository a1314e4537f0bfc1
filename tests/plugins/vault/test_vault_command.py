"""``corral vault``: files and strings ansible-vault and ansible-playbook read, and the reverse."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from corral.testing import CorralProject

BIN = Path(sys.executable).parent
PASSWORD = "command-test-password"


@pytest.fixture
def project(corral_project: CorralProject) -> CorralProject:
    corral_project.write("pw.txt", PASSWORD + "\n")
    corral_project.write("new-pw.txt", "the-new-password\n")
    return corral_project


def ansible(project: CorralProject, tool: str, *args: str, stdin: str | None = None) -> str:
    """Run an ansible-core tool in the project; its stdout (it must succeed)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(HOME=str(project.path / "home"), ANSIBLE_NOCOLOR="1")
    proc = subprocess.run(
        [str(BIN / tool), *args],
        cwd=project.path,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def corral(
    project: CorralProject, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(project.env)
    return subprocess.run(
        [str(BIN / "corral"), "vault", *args],
        cwd=project.path,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        start_new_session=True,  # no terminal: prompts read standard input
    )


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_file_corral_encrypts_is_read_by_ansible_vault(project: CorralProject) -> None:
    path = project.write("vars.yml", "db_pass: hunter2\n")
    path.chmod(0o644)
    done = corral(project, "encrypt", "vars.yml", "--vault-password-file", "pw.txt")
    assert done.returncode == 0, done.stderr
    assert path.read_text().startswith("$ANSIBLE_VAULT;1.1;AES256\n")
    assert mode(path) == 0o600, "written private, as ansible-vault does"
    assert ansible(
        project, "ansible-vault", "view", "vars.yml", "--vault-password-file", "pw.txt"
    ) == ("db_pass: hunter2\n")
    ansible(project, "ansible-vault", "decrypt", "vars.yml", "--vault-password-file", "pw.txt")
    assert path.read_text() == "db_pass: hunter2\n"


def test_a_file_ansible_vault_encrypts_is_read_by_corral(project: CorralProject) -> None:
    path = project.write("vars.yml", "db_pass: hunter3\n")
    ansible(project, "ansible-vault", "encrypt", "vars.yml", "--vault-id", "prod@pw.txt")
    assert path.read_text().startswith("$ANSIBLE_VAULT;1.2;AES256;prod\n")
    view = corral(project, "view", "vars.yml", "--vault-id", "prod@pw.txt")
    assert (view.returncode, view.stdout) == (0, "db_pass: hunter3\n"), view.stderr
    out = corral(
        project, "decrypt", "vars.yml", "--output", "plain.yml", "--vault-password-file", "pw.txt"
    )
    assert out.returncode == 0, out.stderr
    assert (project.path / "plain.yml").read_text() == "db_pass: hunter3\n"
    assert path.read_text().startswith("$ANSIBLE_VAULT"), "--output leaves the original"


def test_standard_input_to_standard_output(project: CorralProject) -> None:
    encrypted = corral(project, "encrypt", "--vault-password-file", "pw.txt", stdin="piped\n")
    assert encrypted.returncode == 0, encrypted.stderr
    assert encrypted.stdout.startswith("$ANSIBLE_VAULT;1.1;AES256\n")
    plain = ansible(
        project,
        "ansible-vault",
        "decrypt",
        "--vault-password-file",
        "pw.txt",
        stdin=encrypted.stdout,
    )
    assert plain == "piped\n"
    back = corral(
        project, "decrypt", "-", "--vault-password-file", "pw.txt", stdin=encrypted.stdout
    )
    assert back.stdout == "piped\n"


def test_encrypt_string_output_is_accepted_by_ansible_playbook(project: CorralProject) -> None:
    made = corral(
        project,
        "encrypt_string",
        "--vault-password-file",
        "pw.txt",
        "--name",
        "api_key",
        "k3y-v4lue",
    )
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith("api_key: !vault |\n          $ANSIBLE_VAULT;1.1;AES256\n")
    from_stdin = corral(
        project, "encrypt_string", "--vault-password-file", "pw.txt", "--stdin-name", "other",
        stdin="st4in-v4lue",
    )  # fmt: skip
    project.write("vars.yml", made.stdout + from_stdin.stdout)
    project.write(
        "site.yml",
        """
        - hosts: localhost
          gather_facts: false
          vars_files: [vars.yml]
          tasks:
            - assert: {that: ["api_key == 'k3y-v4lue'", "other == 'st4in-v4lue'"]}
        """,
    )
    ansible(project, "ansible-playbook", "-i", "localhost,", "-c", "local", "site.yml",
            "--vault-password-file", "pw.txt")  # fmt: skip


def test_ansible_vault_encrypt_string_is_accepted_by_corral_run(project: CorralProject) -> None:
    made = ansible(
        project, "ansible-vault", "encrypt_string", "--vault-id", "dev@pw.txt", "--name", "api_key",
        "fr0m-ansible",
    )  # fmt: skip
    project.write("vars.yml", made)
    project.write(
        "site.yml",
        """
        - hosts: localhost
          gather_facts: false
          vars_files: [vars.yml]
          tasks:
            - assert: {that: "api_key == 'fr0m-ansible'"}
        """,
    )
    result = project.run("run", "site.yml", "--vault-id", "dev@pw.txt")
    assert result.exit_code == 0, result.output


def test_vault_ids_and_encrypt_vault_id(project: CorralProject) -> None:
    project.write("a.txt", "a\n")
    two = ("--vault-id", "dev@pw.txt", "--vault-id", "prod@new-pw.txt")
    refused = corral(project, "encrypt", "a.txt", *two)
    assert refused.returncode == 5
    assert "--encrypt-vault-id" in refused.stderr
    done = corral(project, "encrypt", "a.txt", *two, "--encrypt-vault-id", "prod")
    assert done.returncode == 0, done.stderr
    assert (project.path / "a.txt").read_text().startswith("$ANSIBLE_VAULT;1.2;AES256;prod\n")
    ansible(project, "ansible-vault", "view", "a.txt", "--vault-id", "prod@new-pw.txt")


def test_rekey_keeps_the_mode_and_ansible_reads_the_new_password(project: CorralProject) -> None:
    path = project.write("a.yml", "x: 1\n")
    assert corral(project, "encrypt", "a.yml", "--vault-password-file", "pw.txt").returncode == 0
    path.chmod(0o640)
    done = corral(
        project, "rekey", "a.yml", "--vault-password-file", "pw.txt",
        "--new-vault-password-file", "new-pw.txt",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert mode(path) == 0o640
    assert (
        ansible(project, "ansible-vault", "view", "a.yml", "--vault-password-file", "new-pw.txt")
        == "x: 1\n"
    )
    labelled = corral(
        project,
        "rekey",
        "a.yml",
        "--vault-password-file",
        "new-pw.txt",
        "--new-vault-id",
        "ops@pw.txt",
    )
    assert labelled.returncode == 0, labelled.stderr
    assert path.read_text().startswith("$ANSIBLE_VAULT;1.2;AES256;ops\n")


def editor_script(project: CorralProject, body: str) -> Path:
    """An $EDITOR that records its file's path and mode, then runs ``body`` on it."""
    script = project.write(
        "editor.py",
        f"""#!{sys.executable}
import os, stat, sys
path = sys.argv[1]
with open({str(project.path / "seen.txt")!r}, "w") as seen:
    seen.write(path + " " + oct(stat.S_IMODE(os.stat(path).st_mode)))
{body}
""",
    )
    script.chmod(0o700)
    return script


def test_edit_uses_a_private_temporary_file_and_keeps_id_and_mode(project: CorralProject) -> None:
    path = project.write("a.yml", "x: 1\n")
    assert corral(project, "encrypt", "a.yml", "--vault-id", "ops@pw.txt").returncode == 0
    path.chmod(0o640)
    editor = editor_script(project, "open(path, 'a').write('y: 2\\n')")
    project.env["EDITOR"] = str(editor)
    done = corral(project, "edit", "a.yml", "--vault-id", "ops@pw.txt")
    assert done.returncode == 0, done.stderr
    temp, temp_mode = (project.path / "seen.txt").read_text().split()
    assert temp_mode == "0o600"
    assert not Path(temp).exists(), "the plaintext is removed"
    assert path.read_text().startswith("$ANSIBLE_VAULT;1.2;AES256;ops\n")
    assert mode(path) == 0o640
    assert (
        ansible(project, "ansible-vault", "view", "a.yml", "--vault-id", "ops@pw.txt")
        == "x: 1\ny: 2\n"
    )


def test_create_writes_a_new_private_encrypted_file(project: CorralProject) -> None:
    editor = editor_script(project, "open(path, 'w').write('created: yes\\n')")
    project.env["EDITOR"] = str(editor)
    done = corral(
        project, "create", "new.yml", "--skip-tty-check", "--vault-password-file", "pw.txt"
    )
    assert done.returncode == 0, done.stderr
    assert mode(project.path / "new.yml") == 0o600
    assert (
        ansible(project, "ansible-vault", "view", "new.yml", "--vault-password-file", "pw.txt")
        == "created: yes\n"
    )
    again = corral(
        project, "create", "new.yml", "--skip-tty-check", "--vault-password-file", "pw.txt"
    )
    assert again.returncode == 5
    assert "exists" in again.stderr


def test_a_new_password_is_asked_twice_when_none_is_given(project: CorralProject) -> None:
    project.write("a.txt", "a\n")
    done = corral(project, "encrypt", "a.txt", stdin="typed-pw\ntyped-pw\n")
    assert done.returncode == 0, done.stderr
    assert "New vault password: " in done.stderr + done.stdout
    project.write("typed.txt", "typed-pw\n")
    ansible(project, "ansible-vault", "view", "a.txt", "--vault-password-file", "typed.txt")
    project.write("b.txt", "b\n")
    mismatch = corral(project, "encrypt", "b.txt", stdin="one\ntwo\n")
    assert mismatch.returncode == 5
    assert "do not match" in mismatch.stderr


def test_errors_are_one_line(project: CorralProject) -> None:
    project.write("a.txt", "a\n")
    assert corral(project, "encrypt", "a.txt", "--vault-password-file", "pw.txt").returncode == 0
    again = corral(project, "encrypt", "a.txt", "--vault-password-file", "pw.txt")
    assert again.returncode == 4
    assert again.stderr.startswith("error: input is already encrypted")
    wrong = corral(project, "view", "a.txt", "--vault-password-file", "new-pw.txt")
    assert wrong.returncode == 4
    assert wrong.stderr.startswith(
        "error: cannot decrypt a.txt: no vault password given matches it"
    )
    assert "Traceback" not in wrong.stderr
