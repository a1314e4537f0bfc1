"""The raw step in a playbook: Ansible's result shape, executable, check mode, timeout.

tests/compat/playbooks/67_raw_ping.yml compares it with ansible-playbook.
"""

from __future__ import annotations

from pathlib import Path

from corral.testing import CorralProject

PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  tasks:
    - raw: printf 'a\\nb\\n'; echo oops >&2
      register: out
    - debug: {msg: "{{ [out.stdout, out.stderr, out.stdout_lines, out.changed] }}"}
    - raw: echo $0
      args: {executable: /bin/bash}
      register: out
    - debug: {msg: "{{ out.stdout }}"}
    - raw: sleep 5
      timeout: 1
      ignore_errors: true
      register: out
    - debug: {msg: "{{ [out.failed, out.msg] }}"}
"""


def _messages(result) -> list:
    return [
        e["result"]["msg"]
        for e in result.json_lines()
        if e["event"] == "task_result" and e["action"] == "debug"
    ]


def test_raw_keeps_output_as_it_is(corral_project: CorralProject, tmp_path: Path) -> None:
    corral_project.env.update({"CORRAL_STORE": "off", "HOME": str(tmp_path)})
    corral_project.write("site.yml", PLAYBOOK)
    result = corral_project.run("run", "site.yml", "--output", "json")
    assert result.exit_code == 0, result.output
    first, shell, timed_out = _messages(result)
    assert first == ["a\nb\n", "oops\n", ["a", "b"], True]
    assert shell == "/bin/bash\n"
    assert timed_out == [True, "command timed out after 1 seconds"]


def test_raw_is_skipped_in_check_mode(corral_project: CorralProject, tmp_path: Path) -> None:
    corral_project.env.update({"CORRAL_STORE": "off", "HOME": str(tmp_path)})
    made = tmp_path / "made"
    corral_project.write(
        "site.yml",
        f"- hosts: localhost\n  gather_facts: false\n  tasks:\n    - raw: touch {made}\n",
    )
    result = corral_project.run("run", "site.yml", "--check", "--output", "json")
    assert result.exit_code == 0, result.output
    statuses = [e["status"] for e in result.json_lines() if e["event"] == "task_result"]
    assert statuses == ["skipped"]
    assert not (tmp_path / "made").exists()
