"""``service`` and ``service_facts`` with OpenRC: Debian's ``openrc`` package, from its archive.

A Debian container without systemd gets the real ``openrc`` package (``rc-service``,
``rc-update``, ``openrc-run``) from Debian's archive, and OpenRC's runtime state is
started as in a container image built on it (``/run/openrc/softlevel``). A test daemon
is an ``openrc-run`` script backgrounding ``sleep``. The step must choose OpenRC over the
SysV ``service`` command, as Ansible's ``service`` module does where both are present.
"""

from __future__ import annotations

import pytest
from debian_hosts import DebianFleet, FleetFactory
from services_helpers import play, statuses

from corral.testing import CorralProject

pytestmark = [pytest.mark.slow, pytest.mark.archive]

OPENRC_SCRIPT = """\
#!/sbin/openrc-run
description="corral test daemon"
command=/bin/sleep
command_args=86402
command_background=true
pidfile=/run/corral-orc.pid
"""


@pytest.fixture(scope="module")
def fleet(module_debian_fleet: FleetFactory) -> DebianFleet:
    hosts = module_debian_fleet(1, prefix="orc")
    install = "apt-get update -q && apt-get install -y -q --no-install-recommends openrc"
    done = hosts.exec("orc1", ["sh", "-c", install])
    assert done.rc == 0, done.stdout + done.stderr
    hosts.check("orc1", ["sh", "-c", "mkdir -p /run/openrc && touch /run/openrc/softlevel"])
    hosts.write("orc1", "/etc/init.d/corral-orc", OPENRC_SCRIPT, mode=0o755)
    # OpenRC caches its dependency tree by mtime, to the second: a script written in the
    # second the package made the cache is missing from rc-status until it is rebuilt.
    hosts.check("orc1", ["rc-update", "-u"])
    return hosts


def running(fleet: DebianFleet) -> bool:
    return fleet.exec("orc1", ["pgrep", "-f", "sleep 86402"]).rc == 0


def in_default_runlevel(fleet: DebianFleet) -> bool:
    return fleet.exec("orc1", ["test", "-e", "/etc/runlevels/default/corral-orc"]).rc == 0


def test_service_starts_enables_restarts_and_stops_through_rc_service(
    fleet: DebianFleet, corral_project: CorralProject
) -> None:
    up = [{"name": "up", "service": {"name": "corral-orc", "state": "started", "enabled": True}}]
    code, checked = play(corral_project, fleet.inventory, up, "--check")
    assert (code, checked["up"].status) == (0, "changed")
    assert not running(fleet)
    assert not in_default_runlevel(fleet)

    code, first = play(corral_project, fleet.inventory, up, gather_facts=True)
    assert (code, first["up"].status) == (0, "changed"), first["up"].result
    assert running(fleet)
    assert in_default_runlevel(fleet)
    assert "started" in fleet.check("orc1", ["rc-service", "corral-orc", "status"])
    code, second = play(corral_project, fleet.inventory, up)
    assert (code, second["up"].status) == (0, "ok")

    before = fleet.check("orc1", ["cat", "/run/corral-orc.pid"])
    bounce = [{"name": "bounce", "service": {"name": "corral-orc", "state": "restarted"}}]
    code, bounced = play(corral_project, fleet.inventory, bounce)
    assert (code, bounced["bounce"].status) == (0, "changed")
    assert fleet.check("orc1", ["cat", "/run/corral-orc.pid"]) != before
    assert running(fleet)

    down = [
        {"name": "down", "service": {"name": "corral-orc", "state": "stopped", "enabled": False}}
    ]
    code, stopped = play(corral_project, fleet.inventory, down)
    assert (code, stopped["down"].status) == (0, "changed")
    assert not running(fleet)
    assert not in_default_runlevel(fleet)
    assert statuses(play(corral_project, fleet.inventory, down)[1]) == {"down": "ok"}


def test_service_facts_reads_openrc_and_a_missing_service_fails(
    fleet: DebianFleet, corral_project: CorralProject
) -> None:
    fleet.check("orc1", ["rc-service", "corral-orc", "start"])
    tasks = [
        {"name": "facts", "service_facts": {}},
        {"name": "missing", "service": {"name": "no-such-service", "state": "started"}},
    ]
    code, outcomes = play(corral_project, fleet.inventory, tasks)
    fleet.check("orc1", ["rc-service", "corral-orc", "stop"])
    services = outcomes["facts"].result["ansible_facts"]["services"]
    found = services["corral-orc"]
    assert (found["name"], found["state"], found["source"]) == ("corral-orc", "started", "openrc")
    assert not found["runlevels"]  # the test above took it out of the default runlevel
    assert code == 2
    assert outcomes["missing"].status == "failed"
    assert "no-such-service" in outcomes["missing"].result["msg"]
