"""Every API route checks its token's scope, and approvals keep the four-eyes rule."""

from __future__ import annotations

import json
import re

import httpx
from served import Served, wait_for

LADDER = ("read", "run", "approve", "admin")
SAMPLE = {"run": "no-such-run", "approval_id": "1", "name": "site.yml"}


def test_every_route_of_the_openapi_document_enforces_its_scope(served: Served) -> None:
    served.project.write("site.yml", "- hosts: all\n  gather_facts: false\n  tasks: []\n")
    served.start()
    tokens = {scope: served.token(scope) for scope in LADDER}
    document = httpx.get(served.url + "/openapi.json", timeout=10).json()
    checked = 0
    for template, item in document["paths"].items():
        path = re.sub(r"\{(\w+)(:path)?\}", lambda m: SAMPLE[m.group(1)], template)
        for method, operation in item.items():
            needed = operation.get("x-corral-scope")
            if template == "/healthz":
                assert needed is None
                continue
            assert needed in LADDER, f"{method} {template} declares no scope"

            def call(token: str | None, method: str = method, path: str = path) -> int:
                headers = {"Authorization": f"Bearer {token}"} if token else {}
                body = {"playbook": "site.yml"} if method == "post" else None
                answer = httpx.request(
                    method, served.url + path, headers=headers, json=body, timeout=10
                )
                if path.endswith("/events") and answer.status_code == 200:
                    return 200
                return answer.status_code

            assert call(None) == 401, f"{method} {template} without a token"
            assert call("corral_nope_" + "x" * 40) == 401, f"{method} {template}, unknown token"
            for scope in LADDER:
                allowed = LADDER.index(scope) >= LADDER.index(needed)
                status = call(tokens[scope])
                if allowed:
                    assert status not in (401, 403), f"{method} {template} with {scope}: {status}"
                else:
                    assert status == 403, f"{method} {template} with {scope}: {status}"
            checked += 1
    assert checked >= 17


def test_a_revoked_token_is_refused(served: Served) -> None:
    served.start()
    token = served.token("read", "temp")
    with served.client(token) as api:
        assert api.get("/api/v1/runs").status_code == 200
        listed = served.project.run("token", "list", "--json")
        token_id = next(t["id"] for t in json.loads(listed.stdout) if t["name"] == "temp")
        assert served.project.run("token", "revoke", token_id).exit_code == 0
        assert api.get("/api/v1/runs").status_code == 401


APPROVED = """
- hosts: all
  gather_facts: false
  tasks:
    - approval:
        message: "Go on?"
        timeout: 5m
        forbid_starter: true
    - command: echo approved
"""


def test_an_approval_forbidding_its_starter_needs_another_identity(served: Served) -> None:
    served.project.write("gate.yml", APPROVED)
    served.start()
    starter = served.token("admin", "alice")
    other = served.token("approve", "bob")
    with served.client(starter) as alice, served.client(other) as bob:
        run_id = alice.post("/api/v1/runs", json={"playbook": "gate.yml"}).json()["run_id"]
        waiting = wait_for(lambda: alice.get("/api/v1/approvals").json(), 60, "the approval")
        assert waiting[0]["run_id"] == run_id
        assert waiting[0]["forbid_starter"] is True
        approval = waiting[0]["id"]
        refused = alice.post(f"/api/v1/approvals/{approval}/approve", json={"comment": "me"})
        assert refused.status_code == 403
        assert "forbids the starter" in refused.json()["detail"]
        answer = bob.post(f"/api/v1/approvals/{approval}/approve", json={"comment": "lgtm"})
        assert answer.status_code == 200, answer.text
        assert answer.json()["by"] == "token:bob"
        run = served.wait_status(bob, run_id, {"succeeded"})
        assert run["started_by"] == "token:alice"
        again = bob.post(f"/api/v1/approvals/{approval}/approve", json={})
        assert again.status_code == 409
