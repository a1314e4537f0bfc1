"""The ready playbooks for releases behind a load balancer, end to end over SSH.

Three app hosts and one HAProxy host, Debian containers booted with systemd
(tests/playbooks/lb_fleet.py), shared by the module: provision-app.yml installs
corral-app 1.0.0 on the app hosts once; before each test the hosts go back to 1.0.0 and
HAProxy's pool to what the test starts from. Each test runs ``corral`` as a subprocess
and checks what a user would: the release each host runs, what HAProxy's runtime API
says, and which version (or colour) answers through HAProxy's frontend.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from debian_hosts import FleetFactory
from lb_fleet import ROOT, LbFleet, broken_release, start_lb_fleet
from pytest_httpserver import HTTPServer

from corral.testing import CorralProject

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

PLAYBOOKS = ROOT / "playbooks"
LB = ("-p", "lb_host=lb1")
ALL_UP = {f"app{i}": ("ready", True) for i in (1, 2, 3)}


@pytest.fixture(scope="module")
def lb(
    module_debian_fleet: FleetFactory, tmp_path_factory: pytest.TempPathFactory
) -> tuple[LbFleet, list[dict[str, Any]]]:
    """The fleet, and the events of provision-app.yml's run on it (release 1.0.0)."""
    lb = start_lb_fleet(module_debian_fleet, apps=3)
    project = CorralProject(tmp_path_factory.mktemp("provision"))
    project.env["CORRAL_HOME"] = str(project.path / "home")
    result = project.run_subprocess(
        "run", str(PLAYBOOKS / "provision-app.yml"), "-i", str(lb.inventory),
        "-p", "version=1.0.0", "--output", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return lb, result.json_lines()


@pytest.fixture
def fleet(lb: tuple[LbFleet, list[dict[str, Any]]]) -> LbFleet:
    lb[0].reset()
    return lb[0]


def run(project: CorralProject, fleet: LbFleet, playbook: str, *args: str) -> Any:
    return project.run_subprocess(
        "run", str(PLAYBOOKS / playbook), "-i", str(fleet.inventory), "--output", "json", *args
    )


def results(events: list[dict[str, Any]], task: str) -> list[dict[str, Any]]:
    """The results of ``task`` on the hosts it ran on (not skipped)."""
    return [
        e
        for e in events
        if e["event"] == "task_result" and e["task"].endswith(task) and e["status"] != "skipped"
    ]


def test_provision_app_leaves_the_unit_active_and_healthy(lb, fleet, corral_project):
    events = lb[1]  # of the module's provisioning run; ``fleet`` undid what other tests did
    assert {e["host"] for e in results(events, "Wait for /health to answer with the release")} == {
        "app1", "app2", "app3",
    }  # fmt: skip
    for name in fleet.apps:
        host = fleet.host(name)
        assert fleet.fleet.exec(host, ["systemctl", "is-active", "corral-app"]).stdout == "active\n"
        assert fleet.fleet.exec(host, ["systemctl", "is-enabled", "corral-app"]).stdout.strip() == (
            "enabled"
        )
        assert fleet.release(name).strip() == "/opt/corral-app/releases/1.0.0"
        assert fleet.get(name, "/health") == {"status": "ok", "version": "1.0.0"}
    assert fleet.get("app1")["colour"] == "blue"
    assert fleet.get("app2")["colour"] == "green"
    # Run again: nothing to change.
    again = run(corral_project, fleet, "provision-app.yml", "-p", "version=1.0.0")
    assert again.exit_code == 0, again.output
    assert all(counts["changed"] == 0 for counts in again.recap().values()), again.recap()


def hook(httpserver: HTTPServer) -> tuple[str, str]:
    """``-p notify_url=...`` of a local webhook receiver."""
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    return ("-p", f"notify_url={httpserver.url_for('/hook')}")


def notified(httpserver: HTTPServer) -> list[dict[str, Any]]:
    return [json.loads(request.data) for request, _ in httpserver.log]


def test_rolling_upgrade_drains_each_host_before_touching_it(fleet, corral_project, httpserver):
    result = run(
        corral_project, fleet, "rolling-upgrade.yml", "-p", "version=2.0.0", "-p",
        "auto_approve=true", *LB, *hook(httpserver),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    events = result.json_lines()
    drains = results(events, "Drain the host on HAProxy")
    assert [d["host"] for d in drains] == ["app1", "app2", "app3"], "one host per batch"
    for drain in drains:
        # What HAProxy's `show servers state` said once the host was drained: only it.
        seen = {n: s["state"] for n, s in drain["result"]["servers"].items()}
        assert seen == {n: "drain" if n == drain["host"] else "ready" for n in fleet.apps}
        switch = next(
            i for i, e in enumerate(events)
            if e["event"] == "task_result" and e["host"] == drain["host"]
            and e["task"].endswith("Switch to the release")
        )  # fmt: skip
        assert events.index(drain) < switch, "drained before it was touched"
    for name in fleet.apps:
        assert fleet.release(name).strip().endswith("/2.0.0")
    fleet.wait_lb(ALL_UP)
    assert {a["version"] for a in fleet.through_lb()} == {"2.0.0"}
    assert [(n["outcome"], n["hosts"]) for n in notified(httpserver)] == [
        ("upgraded", [name]) for name in fleet.apps
    ]


def test_rolling_upgrade_rolls_back_a_failed_batch(fleet, corral_project, tmp_path, httpserver):
    broken = broken_release(tmp_path, "unhealthy")
    result = run(
        corral_project, fleet, "rolling-upgrade.yml", "-p", "version=3.0.0", "-p",
        f"release_file={broken}", "-p", "auto_approve=true", *LB, *hook(httpserver),
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    failed = [
        e
        for e in results(result.json_lines(), "answer with the release")
        if e["status"] == "failed"
    ]
    assert [e["host"] for e in failed] == ["app2"], "the second batch failed, nothing after it"
    assert results(result.json_lines(), "Drain the host on HAProxy")[-1]["host"] == "app2"
    releases = fleet.fleet.check(fleet.host("app3"), ["ls", "/opt/corral-app/releases"])
    assert "3.0.0" not in releases, "the batch after the failed one was never touched"
    for name in fleet.apps:
        assert fleet.release(name).strip().endswith("/1.0.0"), name
        assert fleet.get(name, "/health")["version"] == "1.0.0"
    fleet.wait_lb(ALL_UP)
    assert {a["version"] for a in fleet.through_lb()} == {"1.0.0"}
    told = sorted((n["outcome"], str(n.get("host", n.get("hosts")))) for n in notified(httpserver))
    assert told == [("rolled back", "app1"), ("rolled back", "app2"), ("upgraded", "['app1']")]


def test_rolling_upgrade_check_mode_changes_nothing(fleet, corral_project):
    result = run(
        corral_project, fleet, "rolling-upgrade.yml", "-p", "version=2.0.0", "-p",
        "auto_approve=true", "--check", *LB,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert [d["status"] for d in results(result.json_lines(), "Drain the host on HAProxy")] == [
        "changed", "changed", "changed",
    ]  # fmt: skip
    assert fleet.lb_state() == ALL_UP
    assert all(fleet.release(n).strip().endswith("/1.0.0") for n in fleet.apps)


def test_blue_green_switches_and_switches_back(lb, corral_project):
    fleet = lb[0]
    fleet.reset(ready=["app1"])  # blue (app1) live, green (app2, app3) idle
    assert {a["colour"] for a in fleet.through_lb()} == {"blue"}
    lb_url = ("-p", f"lb_url={fleet.frontend}")
    deploy = ("-p", "version=2.0.0", *LB, *lb_url)
    dry = run(corral_project, fleet, "blue-green.yml", *deploy, "--check")
    assert dry.exit_code == 0, dry.output
    assert {a["colour"] for a in fleet.through_lb()} == {"blue"}, "--check switched nothing"
    assert fleet.release("app2").strip().endswith("/1.0.0")
    result = run(corral_project, fleet, "blue-green.yml", *deploy)
    assert result.exit_code == 0, result.output
    assert {(a["colour"], a["version"]) for a in fleet.through_lb()} == {("green", "2.0.0")}
    assert fleet.lb_state()["app1"] == ("maint", False)
    assert fleet.get("app1")["version"] == "1.0.0", "the old colour is kept, running"

    back = run(corral_project, fleet, "blue-green.yml", "-p", "rollback=true", *LB, *lb_url)
    assert back.exit_code == 0, back.output
    assert results(back.json_lines(), "Copy the release's code") == [], "nothing deployed"
    assert {(a["colour"], a["version"]) for a in fleet.through_lb()} == {("blue", "1.0.0")}
    assert fleet.lb_state() == {"app1": ("ready", True), "app2": ("maint", False),
                                "app3": ("maint", False)}  # fmt: skip
    assert fleet.get("app2")["version"] == "2.0.0", "green is kept for the next switch"


def test_canary_is_promoted_when_healthy(fleet, corral_project):
    # The dry run is the real run's command with --check. Its watch is skipped, but the
    # probe loop's pause still runs between the skipped items (as in Ansible): with the
    # default watch_seconds, a minute of waiting.
    args = ("-p", "version=2.0.0", "-p", "watch_seconds=2", "-p", "probes=8", *LB)
    dry = run(corral_project, fleet, "canary.yml", *args, "--check")
    assert dry.exit_code == 0, dry.output
    assert all(fleet.release(n).strip().endswith("/1.0.0") for n in fleet.apps)
    assert fleet.lb_state() == ALL_UP
    result = run(corral_project, fleet, "canary.yml", *args)
    assert result.exit_code == 0, result.output
    judged = results(result.json_lines(), "Judge the canary")
    assert [(j["host"], j["status"]) for j in judged] == [("app1", "ok")]
    assert all(fleet.release(n).strip().endswith("/2.0.0") for n in fleet.apps)
    fleet.wait_lb(ALL_UP)
    assert {a["version"] for a in fleet.through_lb()} == {"2.0.0"}


@pytest.mark.parametrize(
    ("kind", "crossed"),
    [("errors", "error rate 1.0 (max 0.01)"), ("slow", "ms (max 100.0)")],
)
def test_canary_is_rolled_back_when_a_threshold_is_crossed(
    fleet, corral_project, tmp_path, kind, crossed
):
    bad = broken_release(tmp_path, kind)
    result = run(
        corral_project, fleet, "canary.yml", "-p", "version=3.0.0", "-p", "watch_seconds=2",
        "-p", "probes=8", "-p", "max_latency_ms=100", "-p", f"release_file={bad}", *LB,
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    (judged,) = results(result.json_lines(), "Judge the canary")
    assert judged["status"] == "failed"
    assert "canary app1 crossed a threshold" in judged["result"]["msg"]
    assert crossed in judged["result"]["msg"]
    assert all(fleet.release(n).strip().endswith("/1.0.0") for n in fleet.apps)
    for name in ("app2", "app3"):
        ls = fleet.fleet.exec(fleet.host(name), ["ls", "/opt/corral-app/releases"]).stdout
        assert "3.0.0" not in ls, "only the canary got the release"
    fleet.wait_lb(ALL_UP)
    assert {a["version"] for a in fleet.through_lb()} == {"1.0.0"}


def test_bad_input_is_refused_before_a_host_is_touched(fleet, corral_project):
    bad_version = run(corral_project, fleet, "rolling-upgrade.yml", "-p", "version=2.0", *LB)
    assert bad_version.exit_code == 4
    assert "version: '2.0' does not match" in bad_version.stderr
    assert "Traceback" not in bad_version.output
    no_lb = run(
        corral_project, fleet, "rolling-upgrade.yml", "-p", "version=2.0.0", "-p",
        "auto_approve=true", "-p", "lb_host=lb9",
    )  # fmt: skip
    assert no_lb.exit_code == 2
    (refused,) = results(no_lb.json_lines(), "Check that lb_host is a host of the inventory")
    assert refused["result"]["msg"].startswith("lb_host lb9 is not a host of the inventory")
    assert fleet.lb_state() == ALL_UP
    assert all(fleet.release(n).strip().endswith("/1.0.0") for n in fleet.apps)
