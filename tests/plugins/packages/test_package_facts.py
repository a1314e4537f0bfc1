"""``package_facts`` on this machine (Debian: dpkg), compared with dpkg itself."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from corral.testing import CorralProject

PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  tasks:
    - package_facts: {manager: auto}
    - debug:
        msg: "{{ ansible_facts.packages['dpkg'][0].version }} {{ 'dpkg' in ansible_packages }}"
    - ansible.builtin.package_facts: {manager: rpm}
      ignore_errors: true
"""


@pytest.fixture
def project(corral_project: CorralProject, tmp_path: Path) -> CorralProject:
    corral_project.env.update({"CORRAL_STORE": "off", "HOME": str(tmp_path)})
    corral_project.write("site.yml", PLAYBOOK)

    return corral_project


def test_package_facts_lists_what_dpkg_has_installed(project: CorralProject) -> None:
    dpkg = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Version}", "dpkg"], capture_output=True, text=True, check=True
    ).stdout
    result = project.run("run", "site.yml", "-i", "localhost,", "-c", "local", "--output", "json")
    assert result.exit_code == 0, result.output
    results = [e for e in result.json_lines() if e["event"] == "task_result"]
    assert results[1]["result"]["msg"] == f"{dpkg} True"
    gathered = results[0]["result"]["ansible_facts"]["packages"]["dpkg"][0]
    assert gathered["source"] == "apt"
    assert gathered["arch"]
    # No rpm here: a clear failure, not a crash.
    assert results[2]["status"] == "ignored"
    assert "rpm -qa failed" in results[2]["result"]["msg"]
