"""``name:`` with no value on a task, block or play is accepted and shows the action."""

from __future__ import annotations

from pathlib import Path

from corral.testing import CorralProject

PLAYBOOK = """
- name:
  hosts: localhost
  gather_facts: false
  tasks:
    - name:
      debug:
        msg: unnamed
    - name:
      block:
        - name:
          ansible.builtin.debug:
            msg: in a block
"""


def test_a_null_name_shows_the_action(corral_project: CorralProject, tmp_path: Path) -> None:
    corral_project.env.update({"CORRAL_STORE": "off", "HOME": str(tmp_path)})
    corral_project.write("site.yml", PLAYBOOK)
    result = corral_project.run("run", "site.yml")
    assert result.exit_code == 0, result.output
    assert "PLAY [localhost]" in result.output
    assert "TASK [debug]" in result.output
    assert "TASK [ansible.builtin.debug]" in result.output
