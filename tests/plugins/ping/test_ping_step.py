"""The ping step in a playbook: pong over the host's connection, data, crash, unreachable.

tests/compat/playbooks/67_raw_ping.yml compares it with ansible-playbook.
"""

from __future__ import annotations

from pathlib import Path

from corral.testing import CorralProject

# Port 1 on loopback: an ssh attempt is refused at once.
HOSTS = """\
here ansible_connection=local
gone ansible_host=127.0.0.1 ansible_port=1
"""

PLAYBOOK = """
- hosts: all
  gather_facts: false
  tasks:
    - ping:
      register: out
    - debug: {msg: "{{ out.ping }}"}
    - ping: data=crash
      ignore_errors: true
"""


def test_ping_answers_pong_and_finds_the_unreachable(
    corral_project: CorralProject, tmp_path: Path
) -> None:
    corral_project.env.update({"CORRAL_STORE": "off", "HOME": str(tmp_path)})
    corral_project.write("hosts.ini", HOSTS)
    corral_project.write("site.yml", PLAYBOOK)
    result = corral_project.run("run", "site.yml", "-i", "hosts.ini", "--check", "--output", "json")
    assert result.exit_code == 3, result.output
    seen = [
        (e["host"], e["action"], e["status"], e["result"].get("msg"))
        for e in result.json_lines()
        if e["event"] == "task_result"
    ]
    assert ("here", "ping", "ok", None) in seen  # check mode runs it, as Ansible does
    assert ("here", "debug", "ok", "pong") in seen
    assert ("here", "ping", "ignored", "boom") in seen
    assert [status for host, _, status, _ in seen if host == "gone"] == ["unreachable"]
