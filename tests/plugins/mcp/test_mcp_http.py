"""``/mcp`` under ``corral serve``: the MCP SDK's client over streamable HTTP, with the
API's tokens and scopes."""

from __future__ import annotations

import json

import anyio
import httpx
from mcp_session import CLIENT, audit_rows, call, demo_project, over_http, refused, wait_status
from served import Served


def test_a_session_runs_the_demo_playbook_through_the_server(served: Served) -> None:
    demo_project(served.project)
    served.start()
    token = served.token("run", "assistant")

    async def session() -> None:
        async with over_http(served.url, token) as client:
            listed = await call(client, "list_playbooks")
            assert "playbooks/demo.yml" in {row["name"] for row in listed["playbooks"]}
            described = await call(client, "describe_playbook", playbook="deploy.yml")
            assert described["params"]["required"] == ["version"]
            assert (await call(client, "check", playbook="playbooks/demo.yml"))["ok"] is True
            run_id = (await call(client, "run", playbook="playbooks/demo.yml"))["run_id"]
            ended = await wait_status(client, run_id, {"succeeded", "failed"})
            assert ended["run"]["status"] == "succeeded"
            assert ended["run"]["started_by"] == "token:assistant"
            logs = await call(client, "run_logs", run=run_id, lines=0)
            assert any(json.loads(line)["event"] == "recap" for line in logs["text"].splitlines())
            text = await refused(client, "answer_approval", approval_id=1, approve=True)
            assert "scope is run; approve is needed" in text
            text = await refused(client, "run", playbook="deploy.yml", inventory="inventory.yml")
            assert "inventory is not taken over HTTP" in text
            dry = await call(
                client,
                "run",
                playbook="deploy.yml",
                params={"version": "2.0"},
                limit="localhost",
                check_mode=True,
            )
            done = await wait_status(client, dry["run_id"], {"succeeded", "failed"})
            assert done["run"]["check_mode"] is True
            assert done["run"]["options"]["limit"] == "localhost"

    anyio.run(session)
    # The server's own dispatcher ran it: its log says so.
    assert "playbooks/demo.yml: run" in served.output()
    rows = audit_rows(served.project)
    assert {row["client"] for row in rows} == {f"{CLIENT} (token:assistant)"}
    assert [row["action"] for row in rows if row["outcome"] != "ok"] == ["answer_approval", "run"]


def test_a_read_token_reads_but_cannot_run_or_cancel(served: Served) -> None:
    demo_project(served.project)
    served.start()
    runner = served.token("run", "runner")
    reader = served.token("read", "reader")

    async def session() -> None:
        async with over_http(served.url, runner) as client:
            run_id = (await call(client, "run", playbook="slow.yml"))["run_id"]
            await wait_status(client, run_id, {"running"})
        async with over_http(served.url, reader) as client:
            assert (await call(client, "run_status", run=run_id))["run"]["status"] == "running"
            text = await refused(client, "run", playbook="playbooks/demo.yml")
            assert "this token's scope is read; run is needed" in text
            assert "scope is read" in await refused(client, "cancel", run=run_id)
        async with over_http(served.url, runner) as client:
            await call(client, "cancel", run=run_id, grace=0)
            ended = await wait_status(client, run_id, {"cancelled", "failed", "succeeded"})
            assert ended["run"]["status"] == "cancelled"

    anyio.run(session)
    refusals = [row for row in audit_rows(served.project) if row["outcome"].startswith("refused")]
    assert {row["client"] for row in refusals} == {f"{CLIENT} (token:reader)"}
    assert [row["action"] for row in refusals] == ["run", "cancel"]


def test_mcp_needs_a_token(served: Served) -> None:
    served.start()
    with httpx.Client(base_url=served.url, timeout=30) as http:
        answer = http.post("/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
        assert answer.status_code == 401
        assert "corral token create" in answer.json()["detail"]
        answer = http.post("/mcp", json={}, headers={"Authorization": "Bearer corral_nope_nope"})
        assert answer.status_code == 401
