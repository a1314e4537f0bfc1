"""``wait_for_connection`` against a real sshd on loopback that is down, then comes back."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from sshd import SshdFleet, module_fleet

from corral.testing import CorralProject


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshdFleet]:
    with module_fleet(tmp_path_factory, 1, prefix="wfc") as fleet:
        yield fleet


@pytest.fixture
def project(fleet: SshdFleet, corral_project: CorralProject) -> CorralProject:
    known = str(fleet.root / "known_hosts")
    corral_project.write("hosts.ini", fleet.inventory_ini(corral_known_hosts=known))
    return corral_project


def playbook(wait: str) -> str:
    return f"""
    - hosts: all
      gather_facts: false
      tasks:
        - name: wait
          wait_for_connection: {wait}
          register: waited
        - name: back
          command: echo back
    """


def task_results(output: str) -> dict[str, dict[str, object]]:
    events = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    return {e["task"]: e for e in events if e["event"] == "task_result"}


def test_it_waits_through_a_host_that_is_down_until_it_is_back(
    fleet: SshdFleet, project: CorralProject
) -> None:
    (host,) = fleet.hosts
    project.write("site.yml", playbook("{timeout: 120, sleep: 0.5, connect_timeout: 2}"))
    host.kill()  # the host is down when the run starts
    proc = subprocess.Popen(
        [sys.executable, "-m", "corral", "run", "site.yml", "-i", "hosts.ini", "--output", "json"],
        cwd=project.path,
        env=project._environ(None),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(2)
        assert proc.poll() is None, "the run did not wait for the host"
        fleet.restart(host)
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
        if host.process is None:
            fleet.restart(host)
    assert proc.returncode == 0, err
    results = task_results(out)
    assert results["wait"]["status"] == "ok"
    assert results["wait"]["result"]["elapsed"] >= 1
    assert results["back"]["result"]["stdout"] == "back"


def test_a_host_that_stays_down_fails_at_the_timeout(
    fleet: SshdFleet, project: CorralProject
) -> None:
    (host,) = fleet.hosts
    project.write("site.yml", playbook("{timeout: 2, sleep: 0.5, connect_timeout: 1}"))
    host.kill()
    try:
        result = project.run("run", "site.yml", "-i", "hosts.ini", "--output", "json")
    finally:
        fleet.restart(host)
    assert result.exit_code == 2, result.output
    failed = task_results(result.stdout)["wait"]
    assert failed["status"] == "failed"
    message = str(failed["result"]["msg"])  # type: ignore[index]
    assert message.startswith("timed out waiting for ping module test: "), message
    assert "back" not in task_results(result.stdout)


def test_an_up_host_passes_at_once_and_check_mode_skips_it(project: CorralProject) -> None:
    project.write("site.yml", playbook("{}"))
    result = project.run("run", "site.yml", "-i", "hosts.ini", "--output", "json")
    assert result.exit_code == 0, result.output
    assert task_results(result.stdout)["wait"]["result"]["elapsed"] == 0  # type: ignore[index]
    checked = project.run("run", "site.yml", "-i", "hosts.ini", "--check", "--output", "json")
    assert checked.exit_code == 0, checked.output
    assert task_results(checked.stdout)["wait"]["status"] == "skipped"
