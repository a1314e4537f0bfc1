"""Connection and become passwords are secrets from the moment the inventory is loaded.

Issue 14, item 3: ``ansible_become_password`` (and ``ansible_password``,
``ansible_ssh_pass``, ``ansible_become_pass``...) became secrets only when a become
task ran, so a task before that printed and stored them.
"""

from __future__ import annotations

import pytest
from secret_sinks import history_outputs, leaks, run_ids, store_bytes

from corral.testing import CorralProject

PLAYBOOK = """
- name: look at the passwords
  hosts: all
  tasks:
    - debug: {var: "{{ item }}"}
      loop: [ansible_password, ansible_ssh_pass, ansible_become_password, ansible_become_pass,
             ansible_ssh_private_key_passphrase]
    - debug:
        msg: "in {{ ansible_password | default('') }} {{ ansible_become_password | default('') }}"
    - debug: {msg: "{{ hostvars[inventory_hostname] }}"}
    - shell: "echo {{ ansible_password | default('') }} {{ ansible_become_pass | default('') }}"
"""

INLINE = (
    "localhost ansible_connection=local ansible_password=Inv-Login-4qz "
    "ansible_become_password=Inv-Sudo-7hw\n"
)


@pytest.fixture
def project(corral_project: CorralProject) -> CorralProject:
    corral_project.write("site.yml", PLAYBOOK)
    return corral_project


def run_and_collect(project: CorralProject, *args: str) -> dict[str, str | bytes]:
    """Run with a console and with JSON output; every sink after both."""
    sinks: dict[str, str | bytes] = {}
    for output in ("console", "json"):
        result = project.run_subprocess(
            "run", "site.yml", "-i", "hosts.ini", "--output", output, "-vv", *args
        )
        assert result.exit_code == 0, result.output
        sinks[output] = result.output
    sinks.update(store_bytes(project))
    sinks.update(history_outputs(project, run_ids(project)))
    return sinks


def test_inventory_passwords_never_show(project: CorralProject) -> None:
    project.write("hosts.ini", INLINE)
    sinks = run_and_collect(project)
    assert leaks({"login": "Inv-Login-4qz", "sudo": "Inv-Sudo-7hw"}, sinks) == []
    assert '"ansible_password": "********"' in str(sinks["console"])


def test_passwords_in_host_and_group_vars_files_never_show(project: CorralProject) -> None:
    project.write("hosts.ini", "[db]\nlocalhost ansible_connection=local\n")
    project.write("group_vars/db.yml", "ansible_ssh_pass: Grp-Login-2mk\n")
    project.write(
        "host_vars/localhost.yml",
        "ansible_become_pass: Host-Sudo-8jd\nansible_ssh_private_key_passphrase: Key-Phrase-5tt\n",
    )
    sinks = run_and_collect(project)
    secrets = {"group": "Grp-Login-2mk", "host": "Host-Sudo-8jd", "key": "Key-Phrase-5tt"}
    assert leaks(secrets, sinks) == []


def test_passwords_given_with_extra_vars_never_show(project: CorralProject) -> None:
    project.write("hosts.ini", INLINE)
    project.write("pw.yml", "ansible_become_pass: Efile-Sudo-3rr\n")
    sinks = run_and_collect(project, "-e", "ansible_password=Cli-Login-6vv", "-e", "@pw.yml")
    assert leaks({"-e": "Cli-Login-6vv", "-e @file": "Efile-Sudo-3rr"}, sinks) == []


def test_a_templated_password_is_secret_once_rendered(project: CorralProject) -> None:
    project.write(
        "hosts.ini",
        "localhost ansible_connection=local sudo_pw=Tpl-Sudo-1aa "
        "ansible_become_password='{{ sudo_pw }}'\n",
    )
    sinks = run_and_collect(project)
    # The variable it comes from is not a secret by name, but its value is now one.
    assert leaks({"templated": "Tpl-Sudo-1aa"}, sinks) == []
