"""Running one play of service tasks against a Debian test host and reading the results."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from corral.testing import CorralProject

# An LSB init script that runs `sleep infinity` as a daemon (start-stop-daemon).
INIT_SCRIPT = """\
#!/bin/sh
### BEGIN INIT INFO
# Provides:          corral-sleep
# Required-Start:    $local_fs
# Required-Stop:     $local_fs
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: a test daemon
### END INIT INFO
. /lib/lsb/init-functions
PIDFILE=/run/corral-sleep.pid
case "$1" in
  start) start-stop-daemon --start --quiet --background --make-pidfile --pidfile $PIDFILE \\
           --exec /bin/sleep -- 86401 ;;
  stop) start-stop-daemon --stop --quiet --remove-pidfile --pidfile $PIDFILE --exec /bin/sleep
        rc=$?; [ $rc -eq 1 ] && exit 0; exit $rc ;;
  restart|force-reload|reload) $0 stop; $0 start ;;
  status) status_of_proc -p $PIDFILE /bin/sleep corral-sleep ;;
  *) echo "Usage: $0 {start|stop|restart|status}"; exit 2 ;;
esac
"""

UNIT = """\
[Unit]
Description=corral test unit

[Service]
ExecStart=/bin/sleep infinity
ExecReload=/bin/true

[Install]
WantedBy=multi-user.target
"""


@dataclass
class Outcome:
    """One task's result on the host: its status (ok, changed, failed...) and result dict."""

    status: str
    result: dict[str, Any]


def play(
    project: CorralProject,
    inventory: Path,
    tasks: list[dict[str, Any]],
    *options: str,
    handlers: list[dict[str, Any]] | None = None,
    gather_facts: bool = False,
) -> tuple[int, dict[str, Outcome]]:
    """Run ``tasks`` (each with a unique ``name``) as root; exit code and outcomes by name."""
    body: dict[str, Any] = {
        "hosts": "debian",
        "gather_facts": gather_facts,
        "become": True,
        "tasks": tasks,
    }
    if handlers:
        body["handlers"] = handlers
    project.write("site.yml", yaml.safe_dump([body], sort_keys=False))
    result = project.run("run", "site.yml", "-i", str(inventory), "--output", "json", *options)
    outcomes = {
        event["task"]: Outcome(event["status"], event["result"])
        for event in result.json_lines()
        if event.get("event") == "task_result"
    }
    return result.exit_code, outcomes


def statuses(outcomes: dict[str, Outcome]) -> dict[str, str]:
    return {name: outcome.status for name, outcome in outcomes.items()}


def docker_inventory(fleet: Any, path: Path) -> Path:
    """An inventory reaching the fleet's containers through the docker connection."""
    hosts = {h.name: {"ansible_host": h.container_id} for h in fleet.hosts}
    inventory = {
        "all": {
            "vars": {"ansible_connection": "docker", "docker_host": fleet.daemon.url},
            "children": {"debian": {"hosts": hosts}},
        }
    }
    path.write_text(yaml.safe_dump(inventory, sort_keys=False))
    return path
