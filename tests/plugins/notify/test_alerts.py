"""Threshold alerts (`on: [slow]`, `on: [failure_rate]`): real `corral run` processes, a real
run store, and a local HTTP server (pytest-httpserver) standing in for the webhook."""

from __future__ import annotations

import json

import pytest
from pytest_httpserver import HTTPServer

HOSTS = "all:\n  hosts:\n    localhost: {ansible_connection: local}\n"


@pytest.fixture(scope="module")
def _http_server():
    srv = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def server(_http_server):
    _http_server.expect_request("/hook").respond_with_data("ok")
    yield _http_server
    _http_server.clear()


@pytest.fixture
def project(corral_project):
    corral_project.write("hosts.yml", HOSTS)
    return corral_project


def write_playbook(project, server, **entry) -> None:
    notification = {"channel": "webhook", "url": server.url_for("/hook"), **entry}
    play = {
        "hosts": "localhost",
        "gather_facts": False,
        "notifications": [notification],
        "tasks": [{"name": "work", "shell": "sleep {{ nap }}; exit {{ code }}"}],
    }
    project.write("site.yml", json.dumps([play], indent=1))


def run(project, nap: float = 0, code: int = 0, *args: str):
    """``corral run site.yml`` in its own process, as cron or a person would start it."""
    extra = ["-e", f"nap={nap}", "-e", f"code={code}"]
    return project.run_subprocess("run", "site.yml", "-i", "hosts.yml", *extra, *args)


def alerts(server) -> list[dict]:
    """The webhook payloads received since the last call."""
    got = [request.get_json() for request, _ in server.log]
    server.log.clear()
    return got


def test_slow_fires_when_a_run_is_far_over_its_p95(project, server):
    write_playbook(project, server, on=["slow"], min_runs=3)
    for _ in range(4):
        result = run(project)
        assert result.exit_code == 0, result.output
        assert alerts(server) == []  # fast like the others (or too few past runs yet)
    result = run(project, nap=2.5)
    assert result.exit_code == 0, result.output
    (payload,) = alerts(server)
    assert payload["event"] == "alert"
    assert payload["outcome"] == "slow"
    assert payload["status"] == "succeeded"
    assert payload["duration"] >= 2.5
    # "took 2.6s, 17.3x its p95 of 0.150s over 4 runs"
    reason = payload["reason"]
    assert reason.startswith("took 2.")
    assert "x its p95 of " in reason
    assert reason.endswith(" over 4 runs")
    assert "warning" not in result.stderr


def test_slow_needs_min_runs_past_runs(project, server):
    write_playbook(project, server, on=["slow", "success"])
    for _ in range(2):
        assert run(project).exit_code == 0
    result = run(project, nap=1.5)
    assert result.exit_code == 0, result.output
    # Only the run-end message: 2 past runs are fewer than the default min_runs (5).
    assert [p["outcome"] for p in alerts(server)] == ["success", "success", "success"]


def test_failure_rate_fires_after_failures(project, server):
    write_playbook(project, server, on=["failure_rate"], window=4, min_runs=3, threshold=0.5)
    for code in (0, 1):
        assert run(project, code=code).exit_code == 2 * code
        assert alerts(server) == []  # fewer than min_runs runs so far
    result = run(project, code=1)
    assert result.exit_code == 2
    (payload,) = alerts(server)
    assert payload["event"] == "alert"
    assert payload["outcome"] == "failure_rate"
    assert payload["reason"] == "2 of its last 3 runs failed (67%, above 50%)"
    # Two failures in the last four runs is 50%: not above the threshold.
    assert run(project).exit_code == 0
    assert alerts(server) == []


def test_alerts_without_the_store_warn_once(project, server):
    write_playbook(project, server, on=["slow", "failure_rate", "failure"])
    result = run(project, 0, 1, "--no-store")
    assert result.exit_code == 2
    assert [p["outcome"] for p in alerts(server)] == ["failure"]
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert warnings == [
        "warning: slow and failure_rate notifications need the run store, and this run is not"
        " recorded (--no-store or CORRAL_STORE=off); they were not evaluated"
    ]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"on": ["slowly"]}, "'slowly' is not one of"),
        ({"on": ["failure_rate"], "threshold": 2}, "2 is greater than the maximum of 1"),
        ({"on": ["slow"], "min_runs": 0}, "0 is less than the minimum of 1"),
    ],
)
def test_bad_alert_settings_are_caught_before_the_run(project, server, entry, message):
    write_playbook(project, server, **entry)
    result = run(project)
    assert result.exit_code == 4
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert alerts(server) == []
