"""The project's policy.yml judges the runs ``corral serve`` starts (docs/policy.md)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from served import Served

DEPLOY = """
- hosts: all
  gather_facts: false
  params:
    ticket: {type: string, default: ""}
  tasks:
    - name: say ticket
      command: echo "change {{ ticket }}"
"""
POLICY = """
rules:
  - name: change ticket
    reason: every change names its ticket
    params: {match: {ticket: "CHG-[0-9]+"}}
"""


def _rows(served: Served, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(Path(served.project.env["CORRAL_HOME"]) / "corral.db") as db:
        return db.execute(sql).fetchall()


def test_a_queued_run_the_policy_refuses_fails_before_it_starts(served: Served) -> None:
    served.project.write("deploy.yml", DEPLOY)
    served.project.write("policy.yml", POLICY)
    served.start()
    with served.client(served.token("run")) as api:
        refused = api.post("/api/v1/runs", json={"playbook": "deploy.yml"})
        assert refused.status_code == 202, refused.text
        refused_id = refused.json()["run_id"]
        run = served.wait_status(api, refused_id, {"failed", "succeeded"})
        assert (run["status"], run["exit_code"]) == ("failed", 4)
        assert (
            "run refused by policy rule 'change ticket'"
            in api.get(f"/api/v1/runs/{refused_id}/logs").text
        )

        allowed = api.post(
            "/api/v1/runs", json={"playbook": "deploy.yml", "params": {"ticket": "CHG-7"}}
        )
        allowed_id = allowed.json()["run_id"]
        assert served.wait_status(api, allowed_id, {"failed", "succeeded"})["status"] == (
            "succeeded"
        )
    # Who queued it and what started it are the refusal's, from the queued run's row.
    ((client, run_id, args),) = _rows(
        served, "SELECT client, run_id, args FROM audit WHERE channel = 'policy'"
    )
    assert (client, run_id) == ("token:run", refused_id)
    assert json.loads(str(args))["trigger"] == "api"
    ((data,),) = _rows(
        served, f"SELECT data FROM events WHERE kind = 'policy' AND run_id = '{allowed_id}'"
    )
    assert json.loads(str(data))["outcome"] == "allowed"
