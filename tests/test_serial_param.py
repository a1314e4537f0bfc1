"""``serial`` may be a template (a param, a var), rendered before the hosts are split."""

from __future__ import annotations

import pytest

from corral.testing import CorralProject

INVENTORY = (
    "[web]\nh1 ansible_connection=local\nh2 ansible_connection=local\nh3 ansible_connection=local\n"
)
PLAYBOOK = """
- hosts: web
  gather_facts: false
  serial: "{{ batch_size }}"
  params:
    batch_size: {type: string, default: "1"}
  tasks:
    - debug: {msg: "{{ ansible_play_batch | join(',') }}"}
"""


@pytest.fixture
def project(corral_project: CorralProject) -> CorralProject:
    corral_project.env["CORRAL_STORE"] = "off"  # nothing to record: the batches are in the output
    for name, text in {"hosts.ini": INVENTORY, "site.yml": PLAYBOOK}.items():
        corral_project.write(name, text)
    return corral_project


@pytest.mark.parametrize(
    ("size", "batches"),
    [("2", ["h1,h2", "h1,h2", "h3"]), ("34%", ["h1", "h2", "h3"]), ("3", ["h1,h2,h3"] * 3)],
)
def test_the_batch_size_comes_from_a_param(
    project: CorralProject, size: str, batches: list[str]
) -> None:
    result = project.run("run", "site.yml", "-i", "hosts.ini", "-p", f"batch_size={size}",
                         "--output", "json")  # fmt: skip
    assert result.exit_code == 0, result.output
    messages = [e["result"]["msg"] for e in result.json_lines() if e["event"] == "task_result"]
    assert messages == batches


def test_the_plan_shows_the_batches_of_the_param(project: CorralProject) -> None:
    plan = project.run("plan", "site.yml", "-i", "hosts.ini", "-p", "batch_size=2")
    assert plan.exit_code == 0, plan.output
    assert "3 hosts in 2 batches (2: h1, h2; 1: h3)" in plan.stdout
