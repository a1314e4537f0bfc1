"""The ``package`` step picks the host's package manager from its gathered facts."""

from __future__ import annotations

from pathlib import Path

from corral.testing import CorralProject

PLAYBOOK = """
- hosts: localhost
  gather_facts: true
  tasks:
    - name: dpkg is there
      package: {name: dpkg, state: present}
"""


def test_package_uses_the_manager_of_the_gathered_facts(
    corral_project: CorralProject, tmp_path: Path
) -> None:
    # Gathered facts are kept wrapped in the host's variables (never rendered as
    # templates); the step must read the value, not the wrapper.
    corral_project.env.update({"CORRAL_STORE": "off", "HOME": str(tmp_path)})
    corral_project.write("site.yml", PLAYBOOK)
    result = corral_project.run(
        "run", "site.yml", "-i", "localhost,", "-c", "local", "--check", "--output", "json"
    )
    assert result.exit_code == 0, result.output
    results = {e["task"]: e for e in result.json_lines() if e["event"] == "task_result"}
    assert results["dpkg is there"]["status"] == "ok"
