"""``throttle``: how many hosts run a task at once, measured from what the task wrote.

Each host writes the time it started and ended the task; the largest number of
intervals that overlap is what the run allowed, whatever the machine's speed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

INVENTORY = "".join(f"h{i} ansible_connection=local\n" for i in range(1, 7))

TIMED = """
- hosts: all
  strategy: {strategy}
  {play_throttle}
  tasks:
    - name: timed
      shell: >-
        date +%s.%N > {{{{ out }}}}/{{{{ inventory_hostname }}}}.start;
        sleep 0.2;
        date +%s.%N > {{{{ out }}}}/{{{{ inventory_hostname }}}}.end
      {task_throttle}
"""


def most_at_once(out: Path) -> int:
    """The largest number of hosts that were inside the task at the same moment."""
    edges: list[tuple[float, int]] = []
    for start in out.glob("*.start"):
        edges.append((float(start.read_text()), 1))
        edges.append((float(start.with_suffix(".end").read_text()), -1))
    inside = peak = 0
    for _, step in sorted(edges):  # at equal times an end (-1) sorts before a start
        inside += step
        peak = max(peak, inside)
    assert len(edges) == 12, "every host ran the task"
    return peak


@pytest.mark.parametrize("strategy", ["linear", "free"])
@pytest.mark.parametrize("limit", [1, 2])
def test_throttle_limits_how_many_hosts_run_the_task_at_once(corral_project, strategy, limit):
    out = corral_project.path / "out"
    out.mkdir()
    corral_project.write("hosts.ini", INVENTORY)
    corral_project.write(
        "site.yml",
        TIMED.format(strategy=strategy, play_throttle="", task_throttle=f"throttle: {limit}"),
    )
    result = corral_project.run("run", "site.yml", "-i", "hosts.ini", "-e", f"out={out}")
    assert result.exit_code == 0, result.output
    assert most_at_once(out) <= limit


def test_a_play_throttle_applies_to_its_tasks_and_can_be_a_template(corral_project):
    out = corral_project.path / "out"
    out.mkdir()
    corral_project.write("hosts.ini", INVENTORY)
    playbook = TIMED.format(
        strategy="linear", play_throttle='throttle: "{{ n }}"', task_throttle=""
    )
    corral_project.write("site.yml", playbook)
    result = corral_project.run("run", "site.yml", "-i", "hosts.ini", "-e", f"out={out} n=1")
    assert result.exit_code == 0, result.output
    assert most_at_once(out) == 1


def test_a_throttle_that_is_not_a_number_fails_the_task(corral_project):
    corral_project.write("hosts.ini", INVENTORY)
    corral_project.write(
        "site.yml",
        "- hosts: h1\n  tasks:\n    - command: 'true'\n      throttle: '{{ \"many\" }}'\n",
    )
    result = corral_project.run("run", "site.yml", "-i", "hosts.ini")
    assert result.exit_code == 2
    assert "throttle must be a whole number of hosts, got 'many'" in result.output
