"""``systemd`` and ``service`` against systemd booted as PID 1 in a Debian container.

A test unit (``sleep infinity``) is installed in the container; cron is the real service.
The hosts live for the module; each test leaves the units as it found them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from debian_hosts import DebianFleet, FleetFactory
from services_helpers import UNIT, docker_inventory, play, statuses

from corral.testing import CorralProject


@pytest.fixture(scope="module")
def fleet(module_debian_fleet: FleetFactory) -> DebianFleet:
    hosts = module_debian_fleet(1, systemd=True, prefix="sd")
    hosts.write("sd1", "/usr/lib/systemd/system/corral-sleep.service", UNIT)
    return hosts


def unit_state(fleet: DebianFleet, unit: str) -> tuple[str, str]:
    active = fleet.exec("sd1", ["systemctl", "is-active", unit]).stdout.strip()
    enabled = fleet.exec("sd1", ["systemctl", "is-enabled", unit]).stdout.strip()
    return active, enabled


def test_systemd_starts_and_enables_a_unit_then_is_idempotent(
    fleet: DebianFleet, corral_project: CorralProject
) -> None:
    tasks = [
        {
            "name": "up",
            "ansible.builtin.systemd_service": {
                "name": "corral-sleep",
                "state": "started",
                "enabled": True,
                "daemon_reload": True,
            },
            "register": "up",
        }
    ]
    code, first = play(corral_project, fleet.inventory, tasks)
    assert code == 0, first
    assert first["up"].status == "changed"
    result = first["up"].result
    assert (result["name"], result["state"], result["enabled"]) == ("corral-sleep", "started", True)
    assert result["status"]["ActiveState"] == "inactive"  # as it was before the task
    assert result["status"]["LoadState"] == "loaded"
    assert unit_state(fleet, "corral-sleep") == ("active", "enabled")
    code, second = play(corral_project, fleet.inventory, tasks)
    assert (code, second["up"].status) == (0, "ok")
    assert second["up"].result["status"]["ActiveState"] == "active"

    down = {"name": "corral-sleep", "state": "stopped", "enabled": False}
    stop = [{"name": "down", "systemd": down}]
    code, checked = play(corral_project, fleet.inventory, stop, "--check")
    assert (code, checked["down"].status) == (0, "changed")
    assert unit_state(fleet, "corral-sleep") == ("active", "enabled")  # check mode: untouched
    code, stopped = play(corral_project, fleet.inventory, stop)
    assert (code, stopped["down"].status) == (0, "changed")
    assert unit_state(fleet, "corral-sleep") == ("inactive", "disabled")
    assert play(corral_project, fleet.inventory, stop)[1]["down"].status == "ok"


def test_restarted_always_changes_and_gives_a_new_process(
    fleet: DebianFleet, corral_project: CorralProject
) -> None:
    fleet.check("sd1", ["systemctl", "start", "corral-sleep"])
    before = fleet.check("sd1", ["systemctl", "show", "-P", "MainPID", "corral-sleep"])
    tasks = [
        {"name": "bounce", "systemd": {"name": "corral-sleep.service", "state": "restarted"}},
        {"name": "reload", "systemd": {"name": "corral-sleep.service", "state": "reloaded"}},
    ]
    code, outcomes = play(corral_project, fleet.inventory, tasks)
    assert code == 0
    assert statuses(outcomes) == {"bounce": "changed", "reload": "changed"}
    after = fleet.check("sd1", ["systemctl", "show", "-P", "MainPID", "corral-sleep"])
    assert before != after
    fleet.check("sd1", ["systemctl", "stop", "corral-sleep"])


def test_masked_and_unmasked(fleet: DebianFleet, corral_project: CorralProject) -> None:
    mask = [{"name": "mask", "systemd": {"name": "corral-sleep", "masked": True}}]
    _, masked = play(corral_project, fleet.inventory, mask)
    assert masked["mask"].status == "changed", masked["mask"].result
    assert unit_state(fleet, "corral-sleep")[1] == "masked"
    assert play(corral_project, fleet.inventory, mask)[1]["mask"].status == "ok"
    unmask = [{"name": "unmask", "systemd": {"name": "corral-sleep", "masked": False}}]
    assert play(corral_project, fleet.inventory, unmask)[1]["unmask"].status == "changed"
    assert unit_state(fleet, "corral-sleep")[1] == "disabled"


def test_a_unit_that_does_not_exist_is_a_clear_error(
    fleet: DebianFleet, corral_project: CorralProject
) -> None:
    for step in ("systemd", "service"):
        tasks = [{"name": "missing", step: {"name": "no-such-unit", "state": "started"}}]
        code, outcomes = play(corral_project, fleet.inventory, tasks)
        assert code == 2
        assert outcomes["missing"].status == "failed"
        assert outcomes["missing"].result["msg"] == (
            "Could not find the requested service no-such-unit: host"
        )


def test_service_uses_systemd_from_the_facts_and_runs_cron(
    fleet: DebianFleet, corral_project: CorralProject
) -> None:
    fleet.check("sd1", ["systemctl", "stop", "cron"])
    tasks = [
        {
            "name": "cron",
            "service": {"name": "cron", "state": "started", "enabled": True, "sleep": 1},
        },
    ]
    code, outcomes = play(corral_project, fleet.inventory, tasks)  # no facts: gathered
    assert (code, outcomes["cron"].status) == (0, "changed")
    result = outcomes["cron"].result
    assert result["status"]["Id"] == "cron.service"  # the systemd module's result
    assert result["warnings"] == ['Ignoring "sleep" as it is not used in "systemd"']
    assert unit_state(fleet, "cron") == ("active", "enabled")
    code, again = play(corral_project, fleet.inventory, tasks, gather_facts=True)
    assert (code, again["cron"].status) == (0, "ok")


def test_a_handler_restarts_the_service_when_its_config_changes(
    fleet: DebianFleet, corral_project: CorralProject
) -> None:
    fleet.check("sd1", ["systemctl", "start", "corral-sleep"])
    before = fleet.check("sd1", ["systemctl", "show", "-P", "MainPID", "corral-sleep"])
    tasks = [
        {
            "name": "config",
            "copy": {"dest": "/etc/corral-sleep.conf", "content": "level: 1\n"},
            "notify": "restart corral-sleep",
        }
    ]
    handlers = [
        {"name": "restart corral-sleep", "service": {"name": "corral-sleep", "state": "restarted"}}
    ]
    code, outcomes = play(corral_project, fleet.inventory, tasks, handlers=handlers)
    assert code == 0
    assert statuses(outcomes) == {"config": "changed", "restart corral-sleep": "changed"}
    after = fleet.check("sd1", ["systemctl", "show", "-P", "MainPID", "corral-sleep"])
    assert after != before
    code, again = play(corral_project, fleet.inventory, tasks, handlers=handlers)
    assert statuses(again) == {"config": "ok"}  # no change, no restart
    assert fleet.check("sd1", ["systemctl", "show", "-P", "MainPID", "corral-sleep"]) == after
    fleet.check("sd1", ["systemctl", "stop", "corral-sleep"])


def test_service_facts_lists_systemd_units(
    fleet: DebianFleet, corral_project: CorralProject
) -> None:
    fleet.check("sd1", ["systemctl", "start", "cron"])
    tasks = [
        {"name": "facts", "service_facts": {}},
        {"name": "show", "debug": {"var": "ansible_facts.services['cron.service']"}},
    ]
    code, outcomes = play(corral_project, fleet.inventory, tasks)
    assert code == 0, outcomes
    services = outcomes["facts"].result["ansible_facts"]["services"]
    assert services["cron.service"] == {
        "name": "cron.service",
        "state": "running",
        "status": "enabled",
        "source": "systemd",
    }
    assert services["cron"] == {"name": "cron", "state": "running", "source": "sysv"}
    assert services["corral-sleep.service"]["source"] == "systemd"
    shown = outcomes["show"].result["ansible_facts.services['cron.service']"]
    assert shown["state"] == "running"


def test_systemd_through_the_docker_connection(
    fleet: DebianFleet, corral_project: CorralProject, tmp_path: Path
) -> None:
    inventory = docker_inventory(fleet, tmp_path / "docker.yml")
    tasks = [{"name": "up", "systemd": {"name": "corral-sleep", "state": "started"}}]
    code, outcomes = play(corral_project, inventory, tasks)
    assert (code, outcomes["up"].status) == (0, "changed")
    assert unit_state(fleet, "corral-sleep")[0] == "active"
    assert play(corral_project, inventory, tasks)[1]["up"].status == "ok"
    fleet.check("sd1", ["systemctl", "stop", "corral-sleep"])
