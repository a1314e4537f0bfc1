"""``service`` on a Debian container without systemd: SysV init scripts through ``service``.

PID 1 is sshd, so the host's ``ansible_service_mgr`` fact is ``sshd``: the step looks on
the host, as Ansible's ``service`` module does, and finds the init scripts. A test
daemon (``/etc/init.d/corral-sleep``, ``start-stop-daemon`` running ``sleep``) and cron.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from debian_hosts import DebianFleet, FleetFactory
from services_helpers import INIT_SCRIPT, docker_inventory, play, statuses

from corral.testing import CorralProject


@pytest.fixture(scope="module")
def fleet(module_debian_fleet: FleetFactory) -> DebianFleet:
    hosts = module_debian_fleet(1, prefix="sv")
    hosts.write("sv1", "/etc/init.d/corral-sleep", INIT_SCRIPT, mode=0o755)
    return hosts


def running(fleet: DebianFleet) -> bool:
    return fleet.exec("sv1", ["pgrep", "-f", "sleep 86401"]).rc == 0


def start_links(fleet: DebianFleet) -> list[str]:
    found = fleet.exec("sv1", ["sh", "-c", "ls /etc/rc?.d/S??corral-sleep 2>/dev/null"])
    return found.stdout.split()


def test_service_starts_enables_and_stops_an_init_script(
    fleet: DebianFleet, corral_project: CorralProject
) -> None:
    up = [{"name": "up", "service": {"name": "corral-sleep", "state": "started", "enabled": True}}]
    code, checked = play(corral_project, fleet.inventory, up, "--check")
    assert (code, checked["up"].status) == (0, "changed")
    assert not running(fleet)
    assert start_links(fleet) == []

    code, first = play(corral_project, fleet.inventory, up)
    assert (code, first["up"].status) == (0, "changed"), first["up"].result
    assert first["up"].result == {
        "changed": True,
        "failed": False,
        "name": "corral-sleep",
        "state": "started",
        "enabled": True,
    }
    assert running(fleet)
    assert "/etc/rc2.d/S01corral-sleep" in start_links(fleet)
    code, second = play(corral_project, fleet.inventory, up)
    assert (code, second["up"].status) == (0, "ok")

    down = [
        {"name": "down", "service": {"name": "corral-sleep", "state": "stopped", "enabled": False}}
    ]
    code, stopped = play(corral_project, fleet.inventory, down)
    assert (code, stopped["down"].status) == (0, "changed")
    assert not running(fleet)
    assert start_links(fleet) == []
    assert play(corral_project, fleet.inventory, down)[1]["down"].status == "ok"


def test_restart_and_reload_of_an_init_script(
    fleet: DebianFleet, corral_project: CorralProject
) -> None:
    fleet.check("sv1", ["service", "corral-sleep", "start"])
    before = fleet.check("sv1", ["cat", "/run/corral-sleep.pid"])
    tasks = [
        {"name": "bounce", "service": {"name": "corral-sleep", "state": "restarted", "sleep": 1}},
        {"name": "reload", "service": {"name": "corral-sleep", "state": "reloaded"}},
    ]
    code, outcomes = play(corral_project, fleet.inventory, tasks)
    assert code == 0
    assert statuses(outcomes) == {"bounce": "changed", "reload": "changed"}
    assert fleet.check("sv1", ["cat", "/run/corral-sleep.pid"]) != before
    assert running(fleet)
    fleet.check("sv1", ["service", "corral-sleep", "stop"])


def test_pattern_decides_whether_the_service_runs(
    fleet: DebianFleet, corral_project: CorralProject
) -> None:
    fleet.check("sv1", ["service", "corral-sleep", "start"])
    args = {"name": "corral-sleep", "state": "started", "pattern": "sleep 86401"}
    tasks = [{"name": "seen", "service": args}]
    code, outcomes = play(corral_project, fleet.inventory, tasks)
    assert (code, outcomes["seen"].status) == (0, "ok")  # the pattern matches the daemon
    fleet.check("sv1", ["service", "corral-sleep", "stop"])
    code, outcomes = play(corral_project, fleet.inventory, tasks, "--check")
    assert (code, outcomes["seen"].status) == (0, "changed")  # and not this step's own command


def test_cron_through_its_init_script_and_a_missing_service(
    fleet: DebianFleet, corral_project: CorralProject
) -> None:
    tasks = [
        {"name": "cron", "ansible.builtin.service": {"name": "cron", "state": "started"}},
        {"name": "missing", "service": {"name": "no-such-service", "state": "started"}},
    ]
    code, outcomes = play(corral_project, fleet.inventory, tasks, gather_facts=True)
    assert code == 2
    assert outcomes["cron"].status == "changed"
    assert fleet.exec("sv1", ["service", "cron", "status"]).rc == 0
    assert outcomes["missing"].result["msg"] == (
        "Could not find the requested service no-such-service: host"
    )
    code, again = play(corral_project, fleet.inventory, tasks[:1])
    assert (code, again["cron"].status) == (0, "ok")


def test_service_facts_lists_init_scripts(
    fleet: DebianFleet, corral_project: CorralProject
) -> None:
    fleet.check("sv1", ["service", "cron", "start"])
    tasks = [{"name": "facts", "service_facts": {}}]
    code, outcomes = play(corral_project, fleet.inventory, tasks)
    assert code == 0
    services = outcomes["facts"].result["ansible_facts"]["services"]
    assert services["cron"] == {"name": "cron", "state": "running", "source": "sysv"}
    assert services["corral-sleep"]["state"] == "stopped"
    assert not any(name.endswith(".service") for name in services)  # no systemd here


def test_init_scripts_through_the_docker_connection(
    fleet: DebianFleet, corral_project: CorralProject, tmp_path: Path
) -> None:
    inventory = docker_inventory(fleet, tmp_path / "docker.yml")
    tasks = [{"name": "up", "service": {"name": "corral-sleep", "state": "started"}}]
    code, outcomes = play(corral_project, inventory, tasks)
    assert (code, outcomes["up"].status) == (0, "changed")
    assert running(fleet)  # and the docker exec did not wait for the daemon
    assert play(corral_project, inventory, tasks)[1]["up"].status == "ok"
    stop = [{"name": "down", "service": {"name": "corral-sleep", "state": "stopped"}}]
    assert play(corral_project, inventory, stop)[1]["down"].status == "changed"
    assert not running(fleet)


def test_the_systemd_step_without_systemd_says_why(
    fleet: DebianFleet, corral_project: CorralProject
) -> None:
    tasks = [{"name": "cron", "systemd": {"name": "cron", "state": "started"}}]
    code, outcomes = play(corral_project, fleet.inventory, tasks)
    assert code == 2
    message = outcomes["cron"].result["msg"]
    # Ansible's message, with systemctl's reason (no systemd is running to answer).
    assert message == "Service is in unknown state: Failed to connect to bus: Host is down"
