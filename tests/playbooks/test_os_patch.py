"""playbooks/os-patch.yml on real Debian hosts (systemd, over SSH) with a local apt repo.

Three hosts have ``corral-openssl`` 1.0 installed; the third also has ``corral-kernel``
1.0. The repo then gets 2.0 of both: "the security updates" (its origin, corral-tests, is
the one the run takes). Installing ``corral-kernel`` 2.0 leaves /var/run/reboot-required,
as a real kernel or libc update does, so only the third host is rebooted (docker starts a
container again when it stops: its PID 1 start time changes, not the others').

The patch run is made once for the module, while another run holds the ``os-patch``
lock: a run without ``--wait-lock`` is refused first, then one with it waits, and patches
once the holder ends.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aptrepo import Package, build_repo
from debian_hosts import DebianFleet, FleetFactory
from pytest_httpserver import HTTPServer
from task_results import changed_tasks, hook_reports, messages, results, webhook

from corral.testing import CorralProject
from corral.testing.fixtures import CliResult

pytestmark = pytest.mark.slow

PLAYBOOK = str(Path(__file__).resolve().parents[2] / "playbooks" / "os-patch.yml")
PID1_START = "awk '{print $22}' /proc/1/stat"  # changes when the container starts again
WAIT = 120.0
HOLDER = """
- hosts: localhost
  connection: local
  gather_facts: false
  locks: [os-patch]
  tasks:
    - wait_for: {{path: {release}, timeout: 120}}
"""


@dataclass
class Patched:
    fleet: DebianFleet
    project: CorralProject
    hook: HTTPServer
    refused: CliResult
    waited: CliResult
    boots: dict[str, str]
    versions_while_held: dict[str, str]
    reports: dict[str, dict[str, Any]]
    again: CliResult
    boots_after: dict[str, str]
    boots_again: dict[str, str]
    reports_again: dict[str, dict[str, Any]]
    checked: CliResult
    versions_after_check: dict[str, str]
    unhealthy: CliResult


def version(fleet: DebianFleet, host: str, package: str) -> str:
    return fleet.check(host, ["dpkg-query", "-W", "-f=${Version}", package]).strip()


def boot(fleet: DebianFleet, host: str) -> str:
    return fleet.check(host, ["sh", "-c", PID1_START]).strip()


def patch_args(fleet: DebianFleet, reports: Path, batch: str = "2", *more: str) -> list[str]:
    return [
        "run", PLAYBOOK, "-i", str(fleet.inventory), "--output", "json",
        "-p", f"batch_size={batch}", "-p", "security_origin=corral-tests",
        "-p", f"boot_time_command={PID1_START}", "-p", "reboot_timeout=240",
        "-p", "services=[\"ssh\"]", "-p", f"report_dir={reports}", *more,
    ]  # fmt: skip


@pytest.fixture(scope="module")
def hook() -> Iterator[HTTPServer]:
    yield from webhook()


@pytest.fixture(scope="module")
def patched(
    module_debian_fleet: FleetFactory, tmp_path_factory: pytest.TempPathFactory, hook: HTTPServer
) -> Patched:
    base = tmp_path_factory.mktemp("ospatch")
    repo = build_repo(
        base / "repo", [Package("corral-openssl", "1.0"), Package("corral-kernel", "1.0")]
    )
    fleet = module_debian_fleet(
        3, systemd=True, repo=repo, prefix="opa",
        docker_options={"restart_policy": {"Name": "always"}},
    )  # fmt: skip
    names = [h.name for h in fleet.hosts]
    for name in names:
        extra = " corral-kernel" if name == names[-1] else ""
        fleet.check(
            name, ["sh", "-c", f"apt-get update -q && apt-get install -y -q corral-openssl{extra}"]
        )
    # The updates: 2.0 of both; the kernel's asks for a reboot, as Debian's do.
    flag = "#!/bin/sh\ntouch /var/run/reboot-required\n"
    build_repo(
        repo, [Package("corral-openssl", "2.0"), Package("corral-kernel", "2.0", postinst=flag)]
    )
    boots = {name: boot(fleet, name) for name in names}

    project = CorralProject(path=base / "project", env={"CORRAL_HOME": str(base / "home")})
    project.path.mkdir()
    reports = base / "reports"
    reports.mkdir()
    checked = project.run_subprocess(*patch_args(fleet, reports), "--check")
    versions_after_check = {n: version(fleet, n, "corral-openssl") for n in names}
    release = base / "release"
    project.write("holder.yml", HOLDER.format(release=release))
    holder = threading.Thread(target=project.run_subprocess, args=("run", "holder.yml"))
    holder.start()
    deadline = time.monotonic() + WAIT
    while "lock:os-patch" not in project.run_subprocess("locks").stdout:
        assert time.monotonic() < deadline, "the holder never took the lock"
        time.sleep(0.2)
    refused = project.run_subprocess(*patch_args(fleet, reports))
    versions_while_held = {n: version(fleet, n, "corral-openssl") for n in names}

    # A run told to wait says so, and starts once the holder ends.
    errors = base / "waited.err"
    command = [
        str(Path(sys.executable).with_name("corral")),
        *patch_args(fleet, reports, "2", "-p", f"notify_url={hook.url_for('/hook')}"),
        "--wait-lock",
        "2m",
    ]
    env = {**os.environ, "NO_COLOR": "1", **project.env}
    with errors.open("w") as err:
        waiting = subprocess.Popen(
            command, cwd=project.path, env=env, stdout=subprocess.PIPE, stderr=err, text=True
        )
        while "waiting for" not in errors.read_text():
            assert time.monotonic() < deadline, errors.read_text()
            assert waiting.poll() is None, errors.read_text()
            time.sleep(0.2)
        release.touch()
        stdout, _ = waiting.communicate(timeout=600)
    holder.join(timeout=60)
    waited = CliResult(tuple(command), waiting.returncode, stdout, errors.read_text())
    first = {
        n: json.loads((reports / f"{n}.json").read_text()) for n in names if waited.exit_code == 0
    }
    booted = {name: boot(fleet, name) for name in names}
    again = project.run_subprocess(*patch_args(fleet, reports))
    boots_again = {name: boot(fleet, name) for name in names}
    reports_again = {n: json.loads((reports / f"{n}.json").read_text()) for n in names}
    # The first host fails its health check: the rollout (one host a batch) stops there.
    fleet.check(names[0], ["touch", "/etc/corral-unhealthy"])
    health = "health_command=test ! -e /etc/corral-unhealthy"
    notify = f"notify_url={hook.url_for('/hook')}"
    unhealthy = project.run_subprocess(*patch_args(fleet, reports, "1", "-p", health, "-p", notify))
    return Patched(
        fleet, project, hook, refused, waited, boots, versions_while_held, first, again,
        booted, boots_again, reports_again, checked, versions_after_check, unhealthy,
    )  # fmt: skip


def test_a_run_while_the_lock_is_held_is_refused_and_touches_nothing(patched: Patched) -> None:
    assert patched.refused.exit_code == 4, patched.refused.output
    assert "held by run" in patched.refused.stderr
    assert "--wait-lock" in patched.refused.stderr
    assert "Traceback" not in patched.refused.output
    assert set(patched.versions_while_held.values()) == {"1.0"}


def test_every_host_gets_the_update_in_batches_and_only_the_flagged_host_reboots(
    patched: Patched,
) -> None:
    fleet, waited = patched.fleet, patched.waited
    assert waited.exit_code == 0, waited.output
    assert "waiting for lock os-patch" in waited.stderr
    names = [h.name for h in fleet.hosts]
    for name in names:
        assert version(fleet, name, "corral-openssl") == "2.0"
    assert version(fleet, names[-1], "corral-kernel") == "2.0"
    # Batches of two: the third host is first touched after the first two were health-checked.
    events = results(waited)
    first_of_third = next(i for i, e in enumerate(events) if e["host"] == names[-1])
    checked = [i for i, e in enumerate(events) if e["task"] == "Check the services"]
    assert len(checked) == 3
    assert sorted(checked)[1] < first_of_third
    # Only the host whose update asked for it was rebooted; its flag is gone with the boot.
    now = patched.boots_after
    assert [n for n in names if now[n] != patched.boots[n]] == [names[-1]]
    assert fleet.exec(names[-1], ["test", "-e", "/var/run/reboot-required"]).rc != 0
    reports = patched.reports
    assert [(u["name"], u["from"], u["to"]) for u in reports[names[0]]["updated"]] == [
        ("corral-openssl", "1.0", "2.0")
    ]
    assert {u["name"] for u in reports[names[-1]]["updated"]} == {"corral-openssl", "corral-kernel"}
    assert [reports[n]["rebooted"] for n in names] == [False, False, True]
    sent = [r for r in hook_reports(patched.hook, "os-patch") if r["status"] == "ok"]
    assert sorted(sent, key=lambda r: str(r["host"])) == [reports[n] for n in names]


def test_a_second_run_changes_nothing(patched: Patched) -> None:
    again = patched.again
    assert again.exit_code == 0, again.output
    changed = changed_tasks(again)
    assert changed == ["Keep the report on the controller"] * 3  # it says: nothing updated
    names = [h.name for h in patched.fleet.hosts]
    assert [patched.reports_again[n]["updated"] for n in names] == [[], [], []]
    assert [patched.reports_again[n]["rebooted"] for n in names] == [False, False, False]
    assert patched.boots_again == patched.boots_after


def test_check_mode_lists_the_updates_and_installs_nothing(patched: Patched) -> None:
    checked = patched.checked
    assert checked.exit_code == 0, checked.output
    said = messages(checked, "Say what would be updated")
    assert said[:2] == ["would install corral-openssl=2.0"] * 2
    assert said[2] in {
        "would install corral-openssl=2.0, corral-kernel=2.0",
        "would install corral-kernel=2.0, corral-openssl=2.0",
    }
    assert set(patched.versions_after_check.values()) == {"1.0"}


def test_a_failed_health_check_stops_the_rollout(patched: Patched) -> None:
    unhealthy = patched.unhealthy
    assert unhealthy.exit_code == 2, unhealthy.output
    names = [h.name for h in patched.fleet.hosts]
    touched = {e["host"] for e in results(unhealthy)}
    assert touched == {names[0]}  # the later batches never started
    failed = [e for e in results(unhealthy) if e["status"] == "failed"]
    assert failed[-1]["result"]["msg"].startswith(
        f"patching {names[0]} failed at Run the health command"
    )
    (sent,) = [r for r in hook_reports(patched.hook, "os-patch") if r["status"] == "failed"]
    assert (sent["host"], sent["task"]) == (names[0], "Run the health command")
