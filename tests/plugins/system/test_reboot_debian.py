"""``reboot`` for real: a systemd Debian container that docker starts again after it stops.

The container runs systemd as PID 1 under docker's ``always`` restart policy; ``shutdown
-r`` inside it ends the container and docker starts it again, sshd comes back on the same
address. The kernel is the machine's, so its boot id does not change: the tests read the
start time of PID 1 (``/proc/1/stat``, field 22) instead, which does. A host whose boot id
never changes makes the step fail once ``reboot_timeout`` is up.
"""

from __future__ import annotations

import pytest
from debian_hosts import DebianFleet, FleetFactory
from debrun import corral, statuses

from corral.testing import CorralProject

PID1_START = "awk '{print $22}' /proc/1/stat"


@pytest.fixture
def fleet(debian_fleet: FleetFactory) -> DebianFleet:
    return debian_fleet(
        1, systemd=True, prefix="boot", docker_options={"restart_policy": {"Name": "always"}}
    )


def play(host: str, task: str) -> str:
    return f"- hosts: {host}\n  gather_facts: false\n  become: true\n  tasks:\n    - {task}\n"


def test_the_host_reboots_and_comes_back(fleet: DebianFleet, corral_project: CorralProject) -> None:
    host = fleet.hosts[0].name
    before = fleet.check(host, ["sh", "-c", PID1_START]).strip()
    fleet.check(host, ["touch", "/var/tmp/survives"])
    task = f'reboot: {{boot_time_command: "{PID1_START}", reboot_timeout: 240, msg: bye}}'
    checked = corral(corral_project, fleet.inventory, play(host, task), "--check")
    assert statuses(checked) == ["changed"]
    assert fleet.check(host, ["sh", "-c", PID1_START]).strip() == before
    events = corral(corral_project, fleet.inventory, play(host, task))
    assert statuses(events) == ["changed"], events
    result = events[0]["result"]
    assert result["rebooted"] is True
    assert isinstance(result["elapsed"], int)
    assert fleet.check(host, ["sh", "-c", PID1_START]).strip() != before
    fleet.check(host, ["test", "-e", "/var/tmp/survives"])


def test_a_host_that_never_comes_back_fails_at_the_timeout(
    debian_fleet: FleetFactory, corral_project: CorralProject
) -> None:
    fleet = debian_fleet(1, prefix="noboot")
    host = fleet.hosts[0].name
    # "Rebooting" with true leaves the boot id as it is: the host never comes back.
    task = "reboot: {reboot_command: 'true', reboot_timeout: 3}"
    events = corral(corral_project, fleet.inventory, play(host, task))
    assert statuses(events) == ["failed"]
    assert events[0]["result"]["msg"] == ("Timed out waiting for last boot time check (timeout=3)")
