"""playbooks/provision-base.yml on five real Debian hosts over SSH, as an ops engineer runs it.

The hosts are systemd containers (tests/debian_hosts.py) that install from a local apt
repository of stand-in packages (tests/baseline_hosts.py). First run: every host changes;
second run: ``changed=0`` everywhere; then one host drifts behind corral's back (a line of
sshd_config edited, a package removed) and ``--check --diff`` reports exactly that drift,
on that host only, with the lines, and changes nothing; a real run puts it back. The
same drift is reported and put back by two real ``corral worker``s (``--executor
celery``): facts, become, roles, templates, packages and handlers run there.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import redis_server as redis_service
from baseline_hosts import (
    BASE_PACKAGES,
    PLAYBOOK,
    build_baseline_repo,
    offline,
    state,
    write_vars,
)
from celery_fleet import KEY, Worker, started
from debian_hosts import DebianFleet, FleetFactory
from redis_server import RedisServer

from corral.testing import CorralProject

pytestmark = pytest.mark.slow
redis_server = redis_service.redis_server  # the module-scoped server fixture

HOSTS = 5
DRIFTED = "base3"
# Per task, what a fresh host reports on the first run (Ansible reports the same).
FIRST_RUN = {
    "Gathering Facts": "ok",
    "base_packages : Install the base packages": "changed",
    "base_users : Create the admin group": "changed",
    "base_users : Create the admin users": "changed",
    "base_users : Authorize the admins' SSH keys": "changed",
    "base_users : Let the admin group use sudo": "changed",
    "sshd_hardening : Harden sshd": "changed",
    "sshd_hardening : Keep ssh running at boot": "ok",
    "base_sysctl : Kernel settings": "changed",
    "unattended_upgrades : Install unattended-upgrades": "changed",
    "unattended_upgrades : Turn on the daily upgrade run": "changed",
    "unattended_upgrades : Configure what is upgraded": "changed",
    "unattended_upgrades : Keep unattended-upgrades enabled": "changed",
    "base_cron : Clean the apt cache every week": "changed",
    "base_timezone : Set the time zone": "ok",
    "sshd_hardening : Reload ssh": "changed",
}


@pytest.fixture(scope="module")
def fleet(
    module_debian_fleet: FleetFactory, tmp_path_factory: pytest.TempPathFactory
) -> DebianFleet:
    repo = build_baseline_repo(tmp_path_factory.mktemp("baseline") / "repo")
    fleet = module_debian_fleet(HOSTS, systemd=True, repo=repo, prefix="base")
    offline(fleet)
    return fleet


@pytest.fixture
def run(fleet: DebianFleet, corral_project: CorralProject) -> Any:
    corral_project.env["CORRAL_STORE"] = "off"
    extra = write_vars(corral_project.path)

    def run_baseline(*args: str, env: dict[str, str] | None = None) -> list[dict[str, Any]]:
        out = corral_project.run(
            "run", str(PLAYBOOK), "-i", str(fleet.inventory), "-e", f"@{extra}",
            "--output", "json", *args, env=env,
        )  # fmt: skip
        assert out.exit_code == 0, out.output
        return out.json_lines()

    return run_baseline


def statuses(events: list[dict[str, Any]], host: str) -> dict[str, str]:
    return {
        e["task"]: e["status"] for e in events if e["event"] == "task_result" and e["host"] == host
    }


def changed(events: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """(host, task, item) of every change, items of loops included."""
    return sorted(
        (e["host"], e["task"], str(e.get("item", "")))
        for e in events
        if e["event"] in ("task_result", "item_result") and e["status"] == "changed"
    )


def recap(events: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    return next(e["hosts"] for e in events if e["event"] == "recap")


def test_first_run_changes_every_host_and_the_second_changes_nothing(
    fleet: DebianFleet, run: Any
) -> None:
    first = run()
    for host in fleet:
        assert statuses(first, host.name) == FIRST_RUN, host.name
    assert all(counts["failed"] == 0 for counts in recap(first).values())

    for host in fleet:
        # sshd's effective settings: the first value it reads wins, so a hardening line
        # placed after Debian's own `X11Forwarding yes` would not count.
        effective = fleet.check(host, ["sshd", "-T"]).splitlines()
        for setting in ("permitrootlogin no", "x11forwarding no", "maxauthtries 3",
                        "passwordauthentication no", "clientaliveinterval 300"):  # fmt: skip
            assert setting in effective, (host.name, setting)
        assert "NOPASSWD: ALL" in fleet.check(host, ["sudo", "-l", "-U", "alice"])
        assert fleet.check(host, ["id", "-nG", "bob"]).split() == ["bob", "admins"]
        keys = fleet.check(host, ["cat", "/home/alice/.ssh/authorized_keys"])
        assert keys.endswith(" alice@laptop\n")
        installed = fleet.check(host, ["dpkg-query", "-W", "-f", "${Package}\\n"]).split()
        assert {*BASE_PACKAGES, "unattended-upgrades"} <= set(installed)
        cron = fleet.check(host, ["cat", "/etc/cron.d/baseline"])
        assert "17 3 * * 0 root /usr/bin/apt-get clean" in cron
        assert fleet.check(host, ["systemctl", "is-active", "unattended-upgrades"]) == "active\n"
        assert "kernel.kptr_restrict=2" in fleet.check(
            host, ["cat", "/etc/sysctl.d/60-baseline.conf"]
        )

    second = run()
    assert {h: c["changed"] for h, c in recap(second).items()} == {h.name: 0 for h in fleet}
    assert changed(second) == []


DRIFT = [
    (DRIFTED, "base_packages : Install the base packages", ""),
    (DRIFTED, "sshd_hardening : Harden sshd", ""),
    (DRIFTED, "sshd_hardening : Harden sshd", "PermitRootLogin"),
    (DRIFTED, "sshd_hardening : Reload ssh", ""),
]


def drift(fleet: DebianFleet) -> None:
    """Edit a line of sshd_config and remove a package on one host, behind corral's back."""
    fleet.check(DRIFTED, ["sed", "-i", "s/^PermitRootLogin no$/PermitRootLogin yes/",
                          "/etc/ssh/sshd_config"])  # fmt: skip
    fleet.check(DRIFTED, ["dpkg", "--remove", "htop"])


def test_check_diff_shows_exactly_the_drift_of_one_host(fleet: DebianFleet, run: Any) -> None:
    run()  # converged (whatever ran before)
    drift(fleet)
    before = {host.name: state(fleet, host.name) for host in fleet}

    checked = run("--check", "--diff")

    assert changed(checked) == DRIFT
    results = {
        (e["task"], str(e.get("item", ""))): e["result"]
        for e in checked
        if e["event"] in ("task_result", "item_result") and e["host"] == DRIFTED
    }
    sshd = results[("sshd_hardening : Harden sshd", "PermitRootLogin")]["diff"]
    assert "PermitRootLogin yes" in sshd["before"]
    assert "PermitRootLogin no" not in sshd["before"]
    assert sshd["before"].replace("PermitRootLogin yes", "PermitRootLogin no") == sshd["after"]
    apt = results[("base_packages : Install the base packages", "")]
    assert "htop" in str(apt["diff"])
    assert not any(p in str(apt["diff"]) for p in BASE_PACKAGES if p != "htop")
    # Nothing changed anywhere, the drifted host included.
    assert {host.name: state(fleet, host.name) for host in fleet} == before

    fixed = run()
    assert changed(fixed) == changed(checked)
    assert "PermitRootLogin no" in fleet.check(DRIFTED, ["cat", "/etc/ssh/sshd_config"])
    status = fleet.check(DRIFTED, ["dpkg-query", "-W", "-f", "${Status}", "htop"])
    assert status == "install ok installed"
    assert changed(run()) == []


@pytest.fixture
def workers(redis_server: RedisServer, tmp_path: Any) -> Iterator[list[Worker]]:
    with started(tmp_path, redis_server.url, {"w1": ("corral",), "w2": ("corral",)}) as both:
        yield both


def test_two_celery_workers_report_and_put_back_the_same_drift(
    fleet: DebianFleet, run: Any, workers: list[Worker], redis_server: RedisServer
) -> None:
    run()  # converged (whatever ran before)
    drift(fleet)
    # Shards of 2 hosts: every round is spread over both workers.
    env = {"CORRAL_EXECUTOR": "celery", "CORRAL_BROKER_URL": redis_server.url,
           "CORRAL_BROKER_KEY": KEY, "CORRAL_SHARD_SIZE": "2"}  # fmt: skip
    checked = run("--check", "--diff", env=env)
    assert changed(checked) == DRIFT
    assert all(counts["failed"] == 0 for counts in recap(checked).values())
    fixed = run(env=env)
    assert changed(fixed) == DRIFT
    assert "PermitRootLogin no" in fleet.check(DRIFTED, ["cat", "/etc/ssh/sshd_config"])
    status = fleet.check(DRIFTED, ["dpkg-query", "-W", "-f", "${Status}", "htop"])
    assert status == "install ok installed"
    done = re.compile(r"Task corral\.shard\[[0-9a-f-]+\] succeeded")
    assert all(done.search(worker.output()) for worker in workers)
