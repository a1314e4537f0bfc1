"""``corral mcp`` over stdio, driven by the MCP SDK's own client as an assistant would."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp.shared.exceptions import MCPError
from mcp_session import (
    CLIENT,
    audit_rows,
    call,
    demo_project,
    refused,
    stdio,
    wait_status,
)
from served import _kill_workers

from corral.testing import CorralProject


@pytest.fixture
def project(corral_project: CorralProject) -> Iterator[CorralProject]:
    """The demo project; runs its detached workers left running are stopped after."""
    demo_project(corral_project)
    yield corral_project
    _kill_workers(Path(corral_project.env["CORRAL_HOME"]))


def test_list_describe_check_run_status_logs_on_the_demo_playbook(project: CorralProject) -> None:
    async def session() -> None:
        async with stdio(project, "--allow-run") as client:
            tools = {tool.name for tool in (await client.list_tools()).tools}
            assert {"run", "run_status", "run_events", "inventory", "stats"} <= tools

            listed = await call(client, "list_playbooks")
            names = {row["name"]: row for row in listed["playbooks"]}
            assert names["playbooks/demo.yml"]["runnable"] is True

            described = await call(client, "describe_playbook", playbook="deploy.yml")
            schema = described["params"]
            assert schema["required"] == ["version"]
            assert schema["properties"]["api_key"]["writeOnly"] is True
            assert described["plays"][0]["hosts"] == "demo"

            checked = await call(client, "check", playbook="playbooks/demo.yml")
            assert checked["ok"] is True
            assert checked["plays"] == 1
            planned = await call(client, "plan", playbook="playbooks/demo.yml")
            assert planned["plays"][0]["hosts"] == ["localhost"]

            started = await call(client, "run", playbook="playbooks/demo.yml")
            assert started["status"] == "queued"
            run_id = started["run_id"]
            ended = await wait_status(client, run_id, {"succeeded", "failed"})
            assert ended["run"]["status"] == "succeeded", ended
            assert ended["ended"] is True
            assert ended["recap"]["localhost"]["failed"] == 0

            logs = await call(client, "run_logs", run=run_id, lines=0)
            events = [json.loads(line) for line in logs["text"].splitlines()]
            assert events[0]["event"] == "run_start"
            assert any(e["event"] == "recap" for e in events)

            first = await call(client, "run_events", run=run_id, limit=3)
            assert len(first["events"]) == 3
            assert first["more"] is True
            rest = await call(client, "run_events", run=run_id, cursor=first["cursor"], limit=5000)
            assert rest["ended"] is True
            stored = [e for e in events if e["event"] != "worker_output"]
            assert first["events"] + rest["events"] == stored

            history = await call(client, "history", playbook="playbooks/*")
            assert [run["id"] for run in history["runs"]] == [run_id]
            stats = await call(client, "stats")
            assert stats["playbooks"][0]["runs"] == 1

            report = await client.read_resource(f"corral://runs/{run_id}/report")
            assert "<html" in report.contents[0].text  # type: ignore[union-attr]
            record = await client.read_resource(f"corral://runs/{run_id}")
            assert json.loads(record.contents[0].text)["run"]["id"] == run_id  # type: ignore[union-attr]

    anyio.run(session)
    rows = audit_rows(project)
    assert {row["channel"] for row in rows} == {"mcp"}
    assert {row["client"] for row in rows} == {CLIENT}
    run_row = next(row for row in rows if row["action"] == "run")
    assert run_row["outcome"] == "ok"
    assert run_row["args"] == {"playbook": "playbooks/demo.yml"}
    assert run_row["run_id"]


def test_read_only_unless_started_with_the_flags(project: CorralProject) -> None:
    async def session() -> None:
        async with stdio(project) as client:
            text = await refused(client, "run", playbook="playbooks/demo.yml")
            assert "started read-only" in text
            assert "--allow-run" in text
            assert "\n" not in text
            assert "Traceback" not in text
            assert "--allow-run" in await refused(client, "cancel", run="last")
            assert "--allow-run" in await refused(client, "resume", run="last")
            approvals = await call(client, "list_approvals")
            assert approvals == {"approvals": [], "can_answer": False}
            text = await refused(client, "answer_approval", approval_id=1, approve=True)
            assert "--allow-approve" in text
            listed = await call(client, "list_playbooks")
            assert not any(row["runnable"] for row in listed["playbooks"])
            text = await refused(client, "run_events", run="last", limit=0, cursor="x")
            assert text.startswith("bad arguments for run_events: ")
            assert "limit: Input should be greater than or equal to 1" in text
            assert "\n" not in text
            with pytest.raises(MCPError, match="no run 'nope' in the store"):
                await client.read_resource("corral://runs/nope")

    anyio.run(session)
    rows = audit_rows(project)
    refusals = [row["action"] for row in rows if row["outcome"].startswith("refused: ")]
    assert refusals == ["run", "cancel", "resume", "answer_approval"]
    errors = [row["action"] for row in rows if row["outcome"].startswith("error: ")]
    assert errors == ["run_events", "read_resource"]
    assert all(row["client"] == CLIENT for row in rows)


def test_plan_is_corral_plans_with_the_projects_policy(project: CorralProject) -> None:
    project.write(
        "policy.yml",
        """
        rules:
          - name: one host at a time
            reason: the demo is small
            max_hosts: 1
        """,
    )
    cli = project.run("plan", "playbooks/demo.yml", "-i", "inventory.yml", "--output", "json")
    assert cli.exit_code == 0, cli.output

    async def session() -> None:
        async with stdio(project) as client:
            planned = await call(client, "plan", playbook="playbooks/demo.yml")
            assert planned["playbook"] == "playbooks/demo.yml"
            assert planned["policy"]["outcome"] == "allowed"
            assert planned["policy"]["rules"] == json.loads(cli.stdout)["policy"]["rules"]
            assert planned["plays"] == json.loads(cli.stdout)["plays"]

    anyio.run(session)


def test_allow_run_runs_only_the_playbooks_matching_the_glob(project: CorralProject) -> None:
    typed = project.run("run", "deploy.yml", "-i", "inventory.yml", "-p", "version=1.0")
    assert typed.exit_code == 0, typed.stderr

    async def session() -> None:
        async with stdio(project, "--allow-run", "--playbooks", "playbooks/*") as client:
            text = await refused(client, "run", playbook="deploy.yml", params={"version": "1"})
            assert "may not be run through MCP" in text
            assert "playbooks/*" in text
            text = await refused(client, "run", playbook="playbooks/missing.yml")
            assert "no playbook 'playbooks/missing.yml'" in text
            text = await refused(client, "cancel", run="last")
            assert "is of 'deploy.yml', which MCP may not act on here" in text

    anyio.run(session)


def test_params_are_checked_and_secret_ones_never_recorded(project: CorralProject) -> None:
    async def session() -> None:
        async with stdio(project, "--allow-run") as client:
            bad = await call(client, "check", playbook="deploy.yml", params={"version": "x.y"})
            assert bad["ok"] is False
            assert "version" in bad["error"]
            text = await refused(client, "run", playbook="deploy.yml", params={"version": "x"})
            assert "version" in text
            assert "\n" not in text
            good = {"version": "1.2", "api_key": "s3cret-key"}
            started = await call(client, "run", playbook="deploy.yml", params=good)
            done = await wait_status(client, started["run_id"], {"succeeded", "failed"})
            assert done["run"]["status"] == "succeeded"
            host = await call(client, "inventory", host="localhost")
            assert host["vars"]["db_password"] == "********"
            assert host["vars"]["ansible_connection"] == "local"
            groups = await call(client, "inventory")
            assert groups["hosts"] == ["localhost"]

    anyio.run(session)
    rows = audit_rows(project)
    started = [row for row in rows if row["action"] == "run" and row["outcome"] == "ok"]
    assert started[0]["args"]["params"] == {"version": "1.2", "api_key": "********"}
    assert "s3cret-key" not in json.dumps(rows)


def test_cancel_a_long_run_and_resume_it(project: CorralProject) -> None:
    async def session() -> None:
        async with stdio(project, "--allow-run") as client:
            run_id = (await call(client, "run", playbook="slow.yml"))["run_id"]
            await wait_status(client, run_id, {"running"})
            asked = await call(client, "cancel", run=run_id, grace=0)
            assert asked["run_id"] == run_id
            ended = await wait_status(client, run_id, {"cancelled", "failed", "succeeded"})
            assert ended["run"]["status"] == "cancelled"
            resumed = await call(client, "resume", run=run_id)
            assert resumed["status"] == "resuming"
            await wait_status(client, run_id, {"running"})
            await call(client, "cancel", run=run_id, now=True)
            await wait_status(client, run_id, {"cancelled", "failed", "interrupted"})

    anyio.run(session)


def test_approvals_are_answered_with_allow_approve(project: CorralProject) -> None:
    async def session() -> None:
        async with stdio(project, "--allow-run", "--allow-approve") as client:
            run_id = (await call(client, "run", playbook="approve.yml"))["run_id"]
            waiting = await _approvals(client)
            assert waiting["can_answer"] is True
            approval = waiting["approvals"][0]
            assert approval["run_id"] == run_id
            answered = await call(
                client, "answer_approval", approval_id=approval["id"], approve=True, comment="ok"
            )
            assert answered["status"] == "approved"
            assert answered["by"] == f"mcp:{CLIENT}"
            ended = await wait_status(client, run_id, {"succeeded", "failed"})
            assert ended["run"]["status"] == "succeeded"
            again = await refused(
                client, "answer_approval", approval_id=approval["id"], approve=False
            )
            assert "is not pending" in again

    anyio.run(session)


async def _approvals(client: Any, timeout: float = 60) -> dict[str, Any]:
    """list_approvals once a run waits for one (a bounded poll)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = await call(client, "list_approvals")
        if found["approvals"]:
            return found
        await anyio.sleep(0.2)
    raise AssertionError(f"no approval waiting after {timeout:g}s")


def test_the_cli_starts_without_importing_the_mcp_sdk(project: CorralProject) -> None:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "corral", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    imported = [line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()]
    assert "corral_plugins.mcp.command" in imported  # corral mcp is there...
    assert [name for name in imported if name.split(".")[0] == "mcp"] == []  # ...not its SDK
    assert "mcp " in done.stdout
