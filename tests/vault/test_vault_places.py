"""Vault-encrypted files and ``!vault`` values everywhere Ansible reads them.

Each test runs ``corral run`` on a real playbook in a temporary project, against the
local connection, and checks what the task did with the decrypted value.
"""

from __future__ import annotations

import json
import textwrap

import pytest
from vault_helpers import PASSWORD, ansible_vault_text, inline, vault_text

from corral.testing import CorralProject

ASSERT_PLAY = """
- hosts: all
  gather_facts: false
  {extra}
  tasks:
    - assert:
        that: {checks}
"""


@pytest.fixture
def project(corral_project: CorralProject) -> CorralProject:
    corral_project.write("pw.txt", PASSWORD + "\n")
    corral_project.write("hosts.ini", "localhost ansible_connection=local\n")
    return corral_project


def run(project: CorralProject, *args: str) -> None:
    result = project.run(
        "run", "site.yml", "-i", "hosts.ini", "--vault-password-file", "pw.txt", *args
    )
    assert result.exit_code == 0, result.output


def test_an_encrypted_vars_file(project: CorralProject) -> None:
    project.write("secrets.yml", vault_text("db_pass: vars-file-s3cret\nport: 5432\n"))
    project.write(
        "site.yml",
        ASSERT_PLAY.format(
            extra="vars_files: [secrets.yml]",
            checks="[\"db_pass == 'vars-file-s3cret'\", 'port == 5432']",
        ),
    )
    run(project)


def test_a_vars_file_encrypted_by_ansible(project: CorralProject) -> None:
    project.write("secrets.yml", ansible_vault_text("db_pass: from-ansible-s3cret\n"))
    project.write(
        "site.yml",
        ASSERT_PLAY.format(
            extra="vars_files: [secrets.yml]", checks="[\"db_pass == 'from-ansible-s3cret'\"]"
        ),
    )
    run(project)


def test_inline_values_in_play_vars_and_in_a_vars_file(project: CorralProject) -> None:
    project.write("more.yml", "token: " + inline("file-inline-s3cret", 0))
    playbook = textwrap.dedent(
        """
        - hosts: all
          gather_facts: false
          vars_files: [more.yml]
          vars:
            api_key: API_KEY
          tasks:
            - assert:
                that:
                  - api_key == 'play-inline-s3cret'
                  - token == 'file-inline-s3cret'
                  - (api_key ~ '!') == 'play-inline-s3cret!'
        """
    )
    project.write("site.yml", playbook.replace("API_KEY", inline("play-inline-s3cret", 4)))
    run(project)


def test_an_encrypted_extra_vars_file(project: CorralProject) -> None:
    project.write("extra.yml", vault_text("from_e: extra-s3cret\n"))
    project.write("site.yml", ASSERT_PLAY.format(extra="", checks="[\"from_e == 'extra-s3cret'\"]"))
    run(project, "-e", "@extra.yml")


def test_group_vars_host_vars_and_an_encrypted_ini_inventory(project: CorralProject) -> None:
    project.write("inv/hosts.ini", vault_text("[web]\nlocalhost ansible_connection=local\n"))
    project.write("inv/group_vars/web.yml", vault_text("group_pw: group-s3cret\n"))
    project.write("inv/host_vars/localhost.yml", "host_pw: " + inline("host-s3cret", 0))
    project.write(
        "site.yml",
        ASSERT_PLAY.format(
            extra="", checks="[\"group_pw == 'group-s3cret'\", \"host_pw == 'host-s3cret'\"]"
        ),
    )
    result = project.run("run", "site.yml", "-i", "inv", "--vault-password-file", "pw.txt")
    assert result.exit_code == 0, result.output


def test_inline_values_in_a_yaml_inventory(project: CorralProject) -> None:
    inventory = textwrap.dedent(
        """
        all:
          hosts:
            localhost:
              ansible_connection: local
              inv_pw: INV_PW
        """
    )
    project.write("hosts.yml", inventory.replace("INV_PW", inline("yaml-inventory-s3cret", 6)))
    project.write(
        "site.yml", ASSERT_PLAY.format(extra="", checks="[\"inv_pw == 'yaml-inventory-s3cret'\"]")
    )
    result = project.run("run", "site.yml", "-i", "hosts.yml", "--vault-password-file", "pw.txt")
    assert result.exit_code == 0, result.output
    listed = project.run(
        "inventory", "-i", "hosts.yml", "--list", "--vault-password-file", "pw.txt"
    )
    assert listed.exit_code == 0, listed.output
    value = json.loads(listed.stdout)["_meta"]["hostvars"]["localhost"]["inv_pw"]
    assert value["__ansible_vault"].startswith("$ANSIBLE_VAULT;1.1;AES256\n"), (
        "as ansible-inventory: the ciphertext, never the plaintext"
    )
    assert "yaml-inventory-s3cret" not in listed.stdout


def test_copy_template_and_file_lookup_sources_are_decrypted(project: CorralProject) -> None:
    project.write("files/app.key", vault_text("key-material-s3cret\n"))
    project.write("templates/app.conf.j2", vault_text("user={{ user }}\n"))
    out = project.path / "out"
    out.mkdir()
    project.write(
        "site.yml",
        f"""
        - hosts: all
          gather_facts: false
          vars: {{user: deploy}}
          tasks:
            - copy: {{src: app.key, dest: "{out}/app.key"}}
            - template: {{src: app.conf.j2, dest: "{out}/app.conf"}}
            - assert:
                that: "lookup('file', 'files/app.key') == 'key-material-s3cret'"
        """,
    )
    run(project)
    assert (out / "app.key").read_text() == "key-material-s3cret\n"
    assert (out / "app.conf").read_text() == "user=deploy\n"


def test_a_copy_source_that_cannot_be_decrypted_fails_the_task(project: CorralProject) -> None:
    project.write("files/app.key", vault_text("k\n", password="another-password"))
    project.write(
        "site.yml",
        f"""
        - hosts: all
          gather_facts: false
          tasks:
            - copy: {{src: app.key, dest: "{project.path}/app.key"}}
        """,
    )
    result = project.run("run", "site.yml", "-i", "hosts.ini", "--vault-password-file", "pw.txt")
    assert result.exit_code == 2, result.output
    assert "cannot decrypt this file" in result.output
    assert not (project.path / "app.key").exists()


def test_check_plan_and_inventory_take_the_vault_options(project: CorralProject) -> None:
    project.write("secrets.yml", vault_text("db_pass: check-s3cret\n"))
    project.write(
        "site.yml", ASSERT_PLAY.format(extra="vars_files: [secrets.yml]", checks="[db_pass]")
    )
    for command in ("check", "plan"):
        result = project.run(
            command, "site.yml", "-i", "hosts.ini", "--vault-password-file", "pw.txt"
        )
        assert result.exit_code == 0, result.output
        missing = project.run(command, "site.yml", "-i", "hosts.ini")
        assert missing.exit_code == 4, missing.output


def test_an_encrypted_playbook_and_task_file(project: CorralProject) -> None:
    project.write("tasks.yml", vault_text('- assert: {that: "from_tasks_file is undefined"}\n'))
    project.write(
        "site.yml",
        vault_text(
            "- hosts: all\n  gather_facts: false\n  tasks:\n"
            "    - import_tasks: tasks.yml\n    - debug: {msg: encrypted playbook ran}\n"
        ),
    )
    result = project.run("run", "site.yml", "-i", "hosts.ini", "--vault-password-file", "pw.txt")
    assert result.exit_code == 0, result.output
    assert "ok=2" in result.output


def test_an_encrypted_params_file(project: CorralProject) -> None:
    project.write("params.yml", vault_text("version: 4.5.6-vault\n"))
    project.write(
        "site.yml",
        """
        - hosts: all
          gather_facts: false
          params:
            version: {type: string}
          tasks:
            - assert: {that: "version == '4.5.6-vault'"}
        """,
    )
    run(project, "-p", "@params.yml")
