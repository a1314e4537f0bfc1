"""Triggers armed by a real ``corral serve``: signed webhooks, cron catch-up, file changes."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from served import Served, wait_for

SECRET = "s3cret-for-tests"
HOOKED = """
- hosts: all
  gather_facts: false
  params:
    ref: {type: string, pattern: "^refs/heads/"}
  triggers:
    - webhook:
        path: /hooks/deploy
        secret_env: DEPLOY_HOOK_SECRET
        signature: generic
        rate_limit: 5/min
        max_body: 2048
        params: {ref: "{{ payload.ref }}"}
  tasks:
    - command: echo "deploying {{ ref }}"
"""


def signed(
    body: bytes, delivery: str, *, when: float | None = None, secret: str = SECRET
) -> dict[str, str]:
    stamp = str(int(time.time() if when is None else when))
    mac = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {
        "X-Corral-Signature": f"sha256={mac}",
        "X-Corral-Timestamp": stamp,
        "X-Corral-Delivery": delivery,
        "Content-Type": "application/json",
    }


def runs_in_store(served: Served) -> int:
    from corral.store import Store

    store = Store(Path(served.project.env["CORRAL_HOME"]) / "corral.db")
    try:
        return int(store.conn.execute("SELECT count(*) FROM runs").fetchone()[0])
    finally:
        store.close()


def test_a_signed_delivery_queues_a_run_and_every_bad_one_is_refused(served: Served) -> None:
    served.project.write("deploy.yml", HOOKED)
    served.project.env["DEPLOY_HOOK_SECRET"] = SECRET
    served.start()
    hook = served.url + "/hooks/deploy"
    good = json.dumps({"ref": "refs/heads/main"}).encode()
    accepted = httpx.post(hook, content=good, headers=signed(good, "d-1"), timeout=10)
    assert accepted.status_code == 202, accepted.text
    run_id = accepted.json()["run_id"]
    refusals = {
        "bad signature": (
            good,
            {**signed(good, "d-2"), "X-Corral-Signature": "sha256=" + "0" * 64},
        ),
        "missing signature": (good, {"X-Corral-Delivery": "d-3"}),
        "stale timestamp": (good, signed(good, "d-4", when=time.time() - 3600)),
        "replayed delivery": (good, signed(good, "d-1")),
        "params schema": (b'{"ref": "v1.0"}', signed(b'{"ref": "v1.0"}', "d-5")),
        "oversized body": (b"x" * 4096, signed(b"x" * 4096, "d-6")),
    }
    statuses = {
        name: httpx.post(hook, content=body, headers=headers, timeout=10).status_code
        for name, (body, headers) in refusals.items()
    }
    assert statuses == {
        "bad signature": 401,
        "missing signature": 401,
        "stale timestamp": 401,
        "replayed delivery": 409,
        "params schema": 422,
        "oversized body": 413,
    }
    with served.client(served.token("read")) as api:
        run = served.wait_status(api, run_id, {"succeeded"})
        assert run["trigger"] == "webhook"
        logs = api.get(f"/api/v1/runs/{run_id}/logs").text
        assert "deploying refs/heads/main" in logs
        assert [r["id"] for r in api.get("/api/v1/runs").json()] == [run_id]  # none other
        metrics = api.get("/metrics").text
    assert 'corral_trigger_fires_total{kind="webhook",outcome="queued"} 1' in metrics
    assert 'corral_webhook_deliveries_total{status="401"} 3' in metrics
    listed = json.loads(served.project.run("triggers", "--json").stdout)
    assert [(t["kind"], t["last_fire"].endswith("ago")) for t in listed] == [("webhook", True)]


def test_the_rate_limit_answers_429_and_starts_nothing_more(served: Served) -> None:
    served.project.write("deploy.yml", HOOKED)
    served.project.env["DEPLOY_HOOK_SECRET"] = SECRET
    served.start("--max-runs", "1")
    body = json.dumps({"ref": "refs/heads/main"}).encode()
    answers = [
        httpx.post(
            served.url + "/hooks/deploy", content=body, headers=signed(body, f"r-{i}"), timeout=10
        )
        for i in range(7)
    ]
    assert [a.status_code for a in answers] == [202] * 5 + [429] * 2
    assert int(answers[-1].headers["Retry-After"]) >= 1
    assert runs_in_store(served) == 5


# The runs three missed cron times leave, by the trigger's overlap policy: they fire at once
# on start, each while the previous one is still queued or running.
OVERLAPS = {
    "allow": ["succeeded", "succeeded", "succeeded"],
    "skip": ["succeeded"],  # the two later fires are recorded as skipped
    "queue": ["succeeded", "succeeded", "succeeded"],  # one after the other
    "cancel_previous": ["cancelled", "cancelled", "succeeded"],
}


@pytest.mark.parametrize("overlap", list(OVERLAPS))
def test_cron_catches_up_after_the_server_was_down(served: Served, overlap: str) -> None:
    args = {"schedule": "0 * * * *", "catch_up": "all", "overlap": overlap}
    served.project.write(
        "backup.yml",
        f"""
        - hosts: all
          gather_facts: false
          triggers:
            - cron: {json.dumps(args)}
          tasks:
            - command: sleep 1
        """,
    )
    # The server was down for three hours: the last fire was a minute past the hour then.
    from corral.store import Store
    from corral.triggers import trigger_key

    hour = time.time() // 3600 * 3600
    store = Store(Path(served.project.env["CORRAL_HOME"]) / "corral.db")
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO fires (time, playbook, trigger, kind, outcome)"
            " VALUES (?, 'backup.yml', ?, 'cron', 'skipped')",
            (hour - 3 * 3600 + 60, trigger_key("cron", args)),
        )
    served.start()
    expected = OVERLAPS[overlap]
    with served.client(served.token("read")) as api:

        def ended() -> list[dict[str, Any]] | None:
            runs = api.get("/api/v1/runs").json()
            done = [r for r in runs if r["status"] in ("succeeded", "cancelled", "failed")]
            return runs if len(done) == len(expected) == len(runs) else None

        runs = list(reversed(wait_for(ended, 90, f"{len(expected)} catch-up runs")))
    assert [r["status"] for r in runs] == expected
    assert {r["trigger"] for r in runs} == {"cron"}
    outcomes = [row[0] for row in store.conn.execute("SELECT outcome FROM fires ORDER BY id")]
    store.close()
    skipped = 2 if overlap == "skip" else 0
    assert outcomes == ["skipped"] + ["queued"] * (3 - skipped) + ["skipped"] * skipped
    if overlap == "queue":  # each started after the previous one ended
        for before, after in itertools.pairwise(runs):
            assert after["started"] >= before["ended"]


def test_a_hundred_writes_fire_the_file_trigger_once(served: Served) -> None:
    conf = served.project.path / "conf"
    conf.mkdir()
    served.project.write(
        "reload.yml",
        """
        - hosts: all
          gather_facts: false
          params:
            changed: {type: array, default: []}
          triggers:
            - file: {paths: conf, debounce: 800}
          tasks:
            - command: echo "{{ changed | length }} changed"
        """,
    )
    served.start()
    time.sleep(1)  # let inotify arm (the trigger's thread starts with the server)
    for i in range(100):
        (conf / "app.conf").write_text(f"setting = {i}\n")
    with served.client(served.token("read")) as api:
        runs = wait_for(lambda: api.get("/api/v1/runs").json(), 30, "the file trigger's run")
        run_id = runs[0]["id"]
        served.wait_status(api, run_id, {"succeeded"})
        time.sleep(2)  # a second batch would have fired by now
        assert len(api.get("/api/v1/runs").json()) == 1
        assert "1 changed" in api.get(f"/api/v1/runs/{run_id}/logs").text
