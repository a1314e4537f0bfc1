"""``corral resume`` of a run whose inventory had vault-encrypted values.

The run store keeps such values encrypted again (``{"__ansible_vault": ...}``), so the
resumed run, given the same vault password, gets the real values back.
"""

from __future__ import annotations

from pathlib import Path

from vault_helpers import PASSWORD, inline, vault_text

from corral.testing import CorralProject

PLAYBOOK = """
- hosts: all
  gather_facts: false
  tasks:
    - name: wait for the flag
      stat: {path: "{{ flag }}"}
      register: flag_file
      failed_when: not flag_file.stat.exists
    - shell: "printf '%s %s' {{ group_pw | quote }} {{ host_pw | quote }} > {{ out }}"
"""


def test_a_resumed_run_decrypts_the_inventory_values_again(
    corral_project: CorralProject, tmp_path: Path
) -> None:
    project = corral_project
    flag, out = tmp_path / "flag", tmp_path / "out.txt"
    project.write("pw.txt", PASSWORD)
    project.write("inv/hosts.yml", "all:\n  hosts:\n    localhost: {ansible_connection: local}\n")
    project.write("inv/group_vars/all.yml", vault_text(f"group_pw: Resume-Group-1\nflag: {flag}\n"))
    project.write(
        "inv/host_vars/localhost.yml", f"out: {out}\nhost_pw: " + inline("Resume-Host-2", 0)
    )
    project.write("site.yml", PLAYBOOK)
    first = project.run("run", "site.yml", "-i", "inv", "--vault-password-file", "pw.txt")
    assert first.exit_code == 2, first.output
    flag.touch()
    without = project.run("resume", "last")
    assert without.exit_code == 4
    assert "no vault password was given" in without.stderr
    resumed = project.run("resume", "last", "--vault-password-file", "pw.txt")
    assert resumed.exit_code == 0, resumed.output
    assert out.read_text() == "Resume-Group-1 Resume-Host-2"
