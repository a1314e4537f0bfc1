"""Facts over SSH (real sshd processes on loopback, tests/sshd.py) match the local ones.

The sshd hosts run on this machine, so the machine's facts (kernel, distribution,
CPUs, interfaces...) are the same through either connection; the user is the
test user the fleet logs in as.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sshd import SshdFleet, module_fleet

from corral.testing import CorralProject

SAME_ON_BOTH = (
    "hostname",
    "nodename",
    "system",
    "kernel",
    "architecture",
    "distribution",
    "distribution_version",
    "distribution_major_version",
    "distribution_release",
    "os_family",
    "pkg_mgr",
    "service_mgr",
    "lsb",
    "processor_vcpus",
    "processor_cores",
    "memtotal_mb",
    "interfaces",
    "all_ipv4_addresses",
    "virtualization_type",
)

PLAYBOOK = """
- hosts: all
  gather_facts: true
  tasks:
    - name: facts
      debug:
        msg: "{{ ansible_facts | to_json }}"
"""


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshdFleet]:
    with module_fleet(tmp_path_factory, 2) as fleet:
        yield fleet


def gathered(project: CorralProject, inventory: str) -> dict[str, dict[str, Any]]:
    project.write("hosts.ini", inventory)
    project.write("site.yml", PLAYBOOK)
    result = project.run("run", "site.yml", "-i", "hosts.ini", "--output", "json")
    assert result.exit_code == 0, result.output
    return {
        event["host"]: json.loads(event["result"]["msg"])
        for event in result.json_lines()
        if event.get("event") == "task_result" and event.get("task") == "facts"
    }


def test_facts_over_ssh_match_the_local_ones(fleet: SshdFleet, corral_project) -> None:
    remote = gathered(
        corral_project,
        fleet.inventory_ini(corral_known_hosts=str(fleet.root / "known_hosts")),
    )
    local = gathered(corral_project, "local ansible_connection=local\n")["local"]
    assert set(remote) == {host.name for host in fleet.hosts}
    for host, facts in remote.items():
        for key in SAME_ON_BOTH:
            assert facts[key] == local[key], (host, key)
        assert facts["user_id"] == fleet.user
        assert facts["env"]["HOME"]
        assert "LC_ALL" not in facts["env"]  # the script's own setting is not the host's
        assert set(facts["date_time"]) == set(local["date_time"])
        assert facts["default_ipv4"] == local["default_ipv4"]
        assert facts["mounts"]
        assert facts["mounts"][0].keys() == local["mounts"][0].keys()
