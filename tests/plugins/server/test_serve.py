"""``corral serve`` end to end: runs through the API, following them, restart, drain, reload."""

from __future__ import annotations

import json
import os
import signal

import httpx
import pytest
from served import Served, events_of, wait_for

from corral.testing import CorralProject

DEPLOY = """
- hosts: all
  gather_facts: false
  params:
    version: {type: string, pattern: "^[0-9.]+$"}
    pause: {type: number, default: 0}
  tasks:
    - name: say version
      command: echo "deploying {{ version }}"
    - name: take a while
      command: sleep {{ pause }}
"""


def test_a_run_started_through_the_api_runs_in_a_worker_and_is_followed(served: Served) -> None:
    served.project.write("deploy.yml", DEPLOY)
    served.start()
    with served.client(served.token("run")) as api:
        started = api.post(
            "/api/v1/runs", json={"playbook": "deploy.yml", "params": {"version": "1.2"}}
        )
        assert started.status_code == 202, started.text
        run_id = started.json()["run_id"]
        with api.stream("GET", f"/api/v1/runs/{run_id}/events") as stream:
            text = "".join(stream.iter_text())
        events = events_of(text)
        assert events[-1] == {"event": "end", "run_id": run_id, "status": "succeeded"}
        results = [e for e in events if e["event"] == "task_result"]
        assert results[0]["result"]["stdout"] == "deploying 1.2"
        run = api.get(f"/api/v1/runs/{run_id}").json()
        assert run["run"]["status"] == "succeeded"
        assert run["run"]["trigger"] == "api"
        assert run["run"]["started_by"] == "token:run"
        logs = api.get(f"/api/v1/runs/{run_id}/logs").text
        assert "say version" in logs
        listed = api.get("/api/v1/runs", params={"status": "succeeded"}).json()
        assert [r["id"] for r in listed] == [run_id]


def test_bad_params_and_unknown_playbooks_are_refused_without_a_run(served: Served) -> None:
    served.project.write("deploy.yml", DEPLOY)
    served.start()
    with served.client(served.token("run")) as api:
        bad = api.post("/api/v1/runs", json={"playbook": "deploy.yml", "params": {"version": "x!"}})
        assert bad.status_code == 422
        assert "version" in bad.json()["detail"]
        missing = api.post("/api/v1/runs", json={"playbook": "nope.yml"})
        assert missing.status_code == 404
        assert api.get("/api/v1/runs").json() == []
        schema = api.get("/api/v1/playbooks/deploy.yml/params").json()
        assert schema["required"] == ["version"]
        assert schema["properties"]["pause"]["default"] == 0


def test_a_non_loopback_bind_without_tls_is_refused(corral_project: CorralProject) -> None:
    result = corral_project.run("serve", "--bind", "0.0.0.0:8844")
    assert result.exit_code == 5
    assert "refusing to serve plain HTTP on 0.0.0.0" in result.stderr
    assert "--insecure" in result.stderr
    assert "Traceback" not in result.stderr


def test_restart_marks_a_dead_worker_interrupted_and_starts_what_was_queued(served: Served) -> None:
    served.project.write("deploy.yml", DEPLOY)
    served.start("--max-runs", "1")
    with served.client(served.token("run")) as api:
        long = api.post(
            "/api/v1/runs", json={"playbook": "deploy.yml", "params": {"version": "1", "pause": 60}}
        )
        short = api.post(
            "/api/v1/runs", json={"playbook": "deploy.yml", "params": {"version": "2"}}
        )
        first, second = long.json()["run_id"], short.json()["run_id"]
        served.wait_status(api, first, {"running"})
        assert served.run_row(second)["status"] == "queued"  # one run at a time
    worker = served.run_row(first)["pid"]
    served.stop(signal.SIGKILL)  # the server dies, and so does the run's worker
    os.killpg(worker, signal.SIGKILL)
    served.start("--max-runs", "1")
    with served.client(served.token("read", "reader")) as api:
        assert served.wait_status(api, first, {"interrupted"})["exit_code"] is None
        assert served.wait_status(api, second, {"succeeded"})
    assert f"runs interrupted while the server was down: {first}" in served.output()


def test_sigterm_drains_the_running_run_and_keeps_the_queue(served: Served) -> None:
    served.project.write("deploy.yml", DEPLOY)
    served.start("--max-runs", "1")
    with served.client(served.token("run")) as api:
        running = api.post(
            "/api/v1/runs", json={"playbook": "deploy.yml", "params": {"version": "1", "pause": 3}}
        )
        waiting = api.post(
            "/api/v1/runs", json={"playbook": "deploy.yml", "params": {"version": "2"}}
        )
        run_id = running.json()["run_id"]
        served.wait_status(api, run_id, {"running"})
    assert served.stop(signal.SIGTERM) == 0
    assert served.run_row(run_id)["status"] == "succeeded"  # it was let finish
    assert served.run_row(waiting.json()["run_id"])["status"] == "queued"  # for the next start
    assert "draining" in served.output()


def test_a_playbook_broken_while_served_keeps_its_old_version(served: Served) -> None:
    served.project.write("deploy.yml", DEPLOY)
    served.start("--reload-every", "0.2")
    with served.client(served.token("read")) as api:
        served.project.write("deploy.yml", DEPLOY.replace("command: sleep", "comand: sleep"))

        def broken() -> dict[str, object] | None:
            listed = api.get("/api/v1/playbooks").json()
            return listed[0] if listed[0].get("error") else None

        entry = wait_for(broken, 30, "the reload to report the broken playbook")
        assert entry["name"] == "deploy.yml"
        assert "comand" in str(entry["error"])
        assert entry["plays"]  # still served, as it was
        assert api.get("/healthz").json()["broken_playbooks"] == ["deploy.yml"]
        served.project.write("deploy.yml", DEPLOY)
        wait_for(lambda: not api.get("/api/v1/playbooks").json()[0].get("error"), 30, "the fix")
    assert "keeping its previous version" in served.output()


def test_the_openapi_document_lists_every_route_with_its_scope(served: Served) -> None:
    served.start()
    document = httpx.get(served.url + "/openapi.json", timeout=10).json()
    routes = {(path, method) for path, item in document["paths"].items() for method in item}
    assert ("/api/v1/runs", "post") in routes
    assert ("/api/v1/approvals/{approval_id}/approve", "post") in routes
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if path != "/healthz":
                assert operation.get("x-corral-scope") in ("read", "run", "approve", "admin"), (
                    path,
                    method,
                )


def test_a_queued_run_waits_for_a_host_another_run_holds(served: Served) -> None:
    import subprocess
    import sys

    served.project.write("deploy.yml", DEPLOY)
    served.start()
    argv = ["run", "deploy.yml", "-i", "inventory.ini", "-p", "version=0", "-p", "pause=4"]
    holder = subprocess.Popen(
        [sys.executable, "-m", "corral", *argv],
        cwd=served.project.path,
        env=served.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with served.client(served.token("run")) as api:
            locks = wait_for(lambda: api.get("/api/v1/locks").json(), 60, "the holder's lease")
            assert locks[0]["name"] == "host:localhost"
            started = api.post(
                "/api/v1/runs", json={"playbook": "deploy.yml", "params": {"version": "9"}}
            )
            run_id = started.json()["run_id"]
            served.wait_status(api, run_id, {"succeeded"})
            assert holder.wait(timeout=60) == 0
            run = api.get(f"/api/v1/runs/{run_id}").json()["run"]
            holder_run = api.get("/api/v1/runs", params={"limit": 2}).json()[-1]
            assert run["ended"] > holder_run["ended"]  # it waited for the holder to finish
    finally:
        if holder.poll() is None:
            holder.kill()
        holder.wait(timeout=30)


def test_cancel_pause_and_continue_through_the_api(served: Served) -> None:
    served.project.write(
        "slow.yml",
        """
        - hosts: all
          gather_facts: false
          tasks:
            - block:
                - command: sleep 2
                - command: sleep 30
              always:
                - command: echo cleaned up
        """,
    )
    served.start()
    with served.client(served.token("run")) as api:
        paused_id = api.post("/api/v1/runs", json={"playbook": "slow.yml"}).json()["run_id"]
        served.wait_status(api, paused_id, {"running"})
        pause = api.post(f"/api/v1/runs/{paused_id}/pause")
        assert pause.status_code == 200, pause.text
        assert pause.json()["asked"]["outcome"] == "asked"
        again = api.post(f"/api/v1/runs/{paused_id}/continue")
        assert again.status_code == 200
        cancel = api.post(f"/api/v1/runs/{paused_id}/cancel", json={"grace": 1})
        assert cancel.status_code == 200, cancel.text
        run = served.wait_status(api, paused_id, {"cancelled"}, timeout=60)
        assert run["exit_code"] == 99
        logs = api.get(f"/api/v1/runs/{paused_id}/logs").text
        assert "cleaned up" in logs  # the always section ran
        ended = api.post(f"/api/v1/runs/{paused_id}/cancel")
        assert ended.status_code == 409
        assert "cancelled" in ended.json()["detail"]
        resumed = api.post(f"/api/v1/runs/{paused_id}/resume")
        assert resumed.status_code == 202


def test_the_api_is_served_over_tls_with_a_certificate(served: Served, tmp_path) -> None:
    served.start_tls(tmp_path)
    answer = httpx.get(served.url + "/healthz", verify=served.verify, timeout=10)
    assert answer.json()["status"] == "ok"
    with pytest.raises(httpx.HTTPError):  # plain HTTP is not answered
        httpx.get(served.url.replace("https", "http") + "/healthz", timeout=5)


def test_params_from_the_api_are_data_never_templates(served: Served) -> None:
    served.project.write(
        "note.yml",
        """
        - hosts: all
          gather_facts: false
          params:
            note: {type: string}
            tags: {type: array, default: []}
          tasks:
            - command: echo "{{ note }} {{ tags | join(',') }}"
        """,
    )
    served.start()
    with served.client(served.token("run")) as api:
        params = {"note": "{{ 7 * 6 }}", "tags": ["{{ lookup('env', 'HOME') }}"]}
        run_id = api.post("/api/v1/runs", json={"playbook": "note.yml", "params": params})
        run_id = run_id.json()["run_id"]
        served.wait_status(api, run_id, {"succeeded"})
        events = [
            json.loads(line) for line in api.get(f"/api/v1/runs/{run_id}/logs").text.splitlines()
        ]
    result = next(e for e in events if e["event"] == "task_result")
    assert result["result"]["stdout"] == "{{ 7 * 6 }} {{ lookup('env', 'HOME') }}"


def test_cancel_now_through_the_api_skips_the_cleanup(served: Served) -> None:
    served.project.write(
        "slow.yml",
        """
        - hosts: all
          gather_facts: false
          tasks:
            - block:
                - command: sleep 30
              always:
                - command: echo cleaned up
        """,
    )
    served.start()
    with served.client(served.token("run")) as api:
        run_id = api.post("/api/v1/runs", json={"playbook": "slow.yml"}).json()["run_id"]
        served.wait_status(api, run_id, {"running"})
        wait_for(
            lambda: "task_start" in api.get(f"/api/v1/runs/{run_id}/logs").text, 30, "the task"
        )
        answer = api.post(f"/api/v1/runs/{run_id}/cancel", json={"now": True})
        assert answer.status_code == 200, answer.text
        served.wait_status(api, run_id, {"cancelled"}, timeout=30)
        assert "cleaned up" not in api.get(f"/api/v1/runs/{run_id}/logs").text
