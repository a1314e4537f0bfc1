"""What a vault password decrypts is a secret in every sink: console, JSON events, the store.

A value from an inline ``!vault`` and one from a vault-encrypted vars file, printed by
``debug`` (``msg`` and ``var``), echoed by a command and registered, must show as
``********`` on the console, in ``--output json``, in the run store's files and in what
the history commands print; the task still gets the real value. So must values from an
encrypted ``group_vars`` file and an encrypted ``-e @file``, which the run store records
with the run's inventory and extra vars.
"""

from __future__ import annotations

import json
import textwrap

import pytest
from secret_sinks import history_outputs, leaks, run_ids, store_bytes

from corral.testing import CorralProject
from corral.vault.crypto import encrypt

PASSWORD = "sinks-vault-password"
INLINE = "Inline-Vault-9xQ"
FILED = "Filed-Vault-7kP"
GROUP = "Group-Vars-Vault-3mW"
EXTRA = "Extra-Vars-Vault-5tR"

PLAYBOOK = """
- hosts: all
  gather_facts: false
  vars_files: [secrets.yml]
  vars:
    inline_pw: INLINE_VALUE
  tasks:
    - debug: {msg: "inline is {{ inline_pw }}, filed is {{ filed_pw }}"}
    - debug: {msg: "group {{ group_pw }} extra {{ extra_pw }}"}
    - debug: {var: inline_pw}
    - debug: {var: filed_pw}
    - command: echo {{ inline_pw }} {{ filed_pw }}
      register: echoed
    - debug: {var: echoed.stdout}
    - copy: {content: "{{ inline_pw }}", dest: "{{ out }}"}
"""


@pytest.fixture
def project(corral_project: CorralProject) -> CorralProject:
    envelope = encrypt(INLINE.encode(), PASSWORD.encode())
    value = "!vault |\n" + textwrap.indent(envelope, " " * 6)
    corral_project.write("site.yml", textwrap.dedent(PLAYBOOK).replace("INLINE_VALUE", value))
    corral_project.write("secrets.yml", encrypt(f"filed_pw: {FILED}\n".encode(), PASSWORD.encode()))
    corral_project.write("pw.txt", PASSWORD)
    corral_project.write("inv/hosts.ini", "localhost ansible_connection=local\n")
    group_vars = encrypt(f"group_pw: {GROUP}\n".encode(), PASSWORD.encode())
    corral_project.write("inv/group_vars/all.yml", group_vars)
    corral_project.write("extra.yml", encrypt(f"extra_pw: {EXTRA}\n".encode(), PASSWORD.encode()))
    return corral_project


@pytest.mark.parametrize("output", ["console", "json"])
def test_decrypted_values_are_redacted_in_every_sink(project: CorralProject, output: str) -> None:
    out = project.path / "out.txt"
    result = project.run_subprocess(
        "run", "site.yml", "-i", "inv", "--vault-password-file", "pw.txt",
        "-e", f"out={out}", "-e", "@extra.yml", "-vv", "--output", output,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert out.read_text() == INLINE, "the task gets the real value"
    if output == "json":
        events = [json.loads(line) for line in result.stdout.splitlines()]
        assert any("inline is ********, filed is ********" in json.dumps(e) for e in events)
    else:
        assert "inline is ********, filed is ********" in result.stdout
    sinks: dict[str, str | bytes] = {"console": result.output, **store_bytes(project)}
    sinks.update(history_outputs(project, run_ids(project)))
    secrets = {"inline": INLINE, "filed": FILED, "group_vars": GROUP, "-e @file": EXTRA}
    assert leaks(secrets, sinks) == []
