"""``async`` + ``poll`` and ``async_status`` over SSH: the job runs detached on the host."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sshd import SshdFleet, module_fleet

from corral.testing import CorralProject


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshdFleet]:
    with module_fleet(tmp_path_factory, 1, prefix="async") as fleet:
        yield fleet


PLAYBOOK = """
- hosts: fleet
  gather_facts: false
  tasks:
    - name: waited for
      shell: "echo waited; echo $HOME"
      async: 30
      poll: 1
      register: waited
    - name: too slow
      shell: "sleep 60"
      async: 1
      poll: 1
      ignore_errors: true
    - name: start
      shell: "sleep 1; echo background"
      async: 30
      poll: 0
      register: job
    - name: wait
      async_status: {jid: "{{ job.ansible_job_id }}"}
      register: status
      until: status.finished
      retries: 60
      delay: 0.5
    - name: clean up
      async_status: {jid: "{{ job.ansible_job_id }}", mode: cleanup}
"""


def test_async_jobs_run_detached_on_an_ssh_host(
    fleet: SshdFleet, corral_project: CorralProject
) -> None:
    corral_project.write(
        "hosts.ini",
        fleet.inventory_ini(corral_known_hosts=str(fleet.root / "known_hosts")),
    )
    corral_project.write("site.yml", PLAYBOOK)
    result = corral_project.run("run", "site.yml", "-i", "hosts.ini", "--output", "json")
    assert result.exit_code == 0, result.output
    results = {e["task"]: e for e in result.json_lines() if e.get("event") == "task_result"}
    waited = results["waited for"]["result"]
    assert waited["stdout_lines"][0] == "waited"
    # The status file is in the remote user's home, as Ansible's ~/.ansible_async.
    home = waited["stdout_lines"][1]
    assert waited["results_file"] == f"{home}/.ansible_async/{waited['ansible_job_id']}"
    slow = results["too slow"]
    assert slow["status"] == "ignored"
    assert slow["result"]["msg"] == "Timeout exceeded"
    assert results["start"]["result"]["finished"] is False
    assert results["wait"]["result"]["stdout"] == "background"
    assert results["clean up"]["result"]["erased"] == results["start"]["result"]["results_file"]
