"""The same apt playbook through ansible-playbook and corral, on two hosts of the same image.

Per task, both tools must report the same status (changed/ok/failed), both second runs
must change nothing, and both hosts must end with the same packages. Ansible's apt module
needs python3-apt on the host, which it installs from Debian's archive: hence the marker.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from debian_hosts import DebianFleet, FleetFactory, ssh_control_dir
from hosts import make_repo

pytestmark = [pytest.mark.slow, pytest.mark.archive]

BIN = Path(sys.executable).parent
CALLBACKS = Path(__file__).resolve().parents[2] / "compat" / "callback_plugins"
LINE = "deb [trusted=yes] file:/srv/corral-repo ./"
TASKS = [
    {
        "name": "three",
        "apt": {"name": ["corral-a", "corral-c", "corral-dep"], "update_cache": True},
    },
    {"name": "pinned", "apt": {"name": "corral-ver=1.*"}},
    {"name": "no recommends", "apt": {"name": "corral-app", "install_recommends": False}},
    {"name": "deb on the host", "apt": {"deb": "/srv/corral-repo/corral-conf_1.0_all.deb"}},
    {"name": "remove", "apt": {"name": "corral-b", "state": "absent"}},
    {"name": "unknown", "apt": {"name": ["corral-svc", "corral-nope"]}, "ignore_errors": True},
    {"name": "source", "apt_repository": {"repo": LINE, "update_cache": False}},
]


def statuses(events: list[dict[str, object]]) -> list[tuple[object, object]]:
    return [(e["task"], e["status"]) for e in events if e.get("event") == "task_result"]


def run(tool: str, fleet: DebianFleet, host: str, tmp: Path) -> list[tuple[object, object]]:
    """One run of ``tool`` on ``host``; the (task, status) of each task, in order."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "CORRAL_"))}
    env |= {"HOME": str(tmp / "home"), "CORRAL_HOME": str(tmp / "corral-home")}
    playbook = tmp / "site.yml"
    argv = [str(playbook), "-i", str(fleet.inventory), "--limit", host]
    if tool == "corral":
        argv = [str(BIN / "corral"), "run", *argv, "--output", "json"]
    else:
        events = tmp / "events.jsonl"
        events.unlink(missing_ok=True)
        env |= {
            "ANSIBLE_CALLBACK_PLUGINS": str(CALLBACKS),
            "ANSIBLE_CALLBACKS_ENABLED": "compat_events",
            "CORRAL_COMPAT_EVENTS": str(events),
            "ANSIBLE_HOST_KEY_CHECKING": "True",
            "ANSIBLE_SSH_CONTROL_PATH_DIR": ssh_control_dir(),
        }
        argv = [str(BIN / "ansible-playbook"), *argv]
    proc = subprocess.run(
        argv, check=False, cwd=tmp, env=env, capture_output=True, text=True, timeout=900
    )
    lines = proc.stdout if tool == "corral" else (tmp / "events.jsonl").read_text()
    found = statuses([json.loads(line) for line in lines.splitlines() if line.startswith("{")])
    assert found, proc.stdout + proc.stderr
    return found


def packages(fleet: DebianFleet, host: str) -> str:
    return fleet.check(host, ["dpkg-query", "-W", "corral-*"])


def test_apt_tasks_report_as_ansible_and_leave_the_same_packages(
    debian_fleet: FleetFactory, tmp_path: Path
) -> None:
    repo, _ = make_repo(tmp_path)
    fleet = debian_fleet(2, repo=repo)
    for host in ("deb1", "deb2"):  # corral-b is there to be removed
        fleet.check(host, ["apt-get", "update", "-q"])
        fleet.check(host, ["apt-get", "install", "-y", "-q", "corral-b"])
    (tmp_path / "site.yml").write_text(
        yaml.safe_dump([{"hosts": "debian", "gather_facts": False, "become": True, "tasks": TASKS}])
    )
    ansible_first = run("ansible", fleet, "deb2", tmp_path)
    corral_first = run("corral", fleet, "deb1", tmp_path)
    assert corral_first == ansible_first
    assert ("three", "changed") in corral_first
    assert ("unknown", "ignored") in corral_first  # failed, ignored, in both
    assert packages(fleet, "deb1") == packages(fleet, "deb2")
    ansible_second = run("ansible", fleet, "deb2", tmp_path)
    corral_second = run("corral", fleet, "deb1", tmp_path)
    assert corral_second == ansible_second
    assert [t for t, s in corral_second if s == "changed"] == []
