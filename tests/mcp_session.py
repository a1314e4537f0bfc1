"""MCP client sessions for the ``corral mcp`` tests: the SDK's own client, over stdio
(spawning ``python -m corral mcp`` in a project) or streamable HTTP (``/mcp`` under a
real ``corral serve``).

Each test runs its session in ``anyio.run``; waits are bounded polls.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import httpx2
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp_types import Implementation

from corral.testing import CorralProject

CLIENT = "corral-tests"
DEMO = Path(__file__).resolve().parents[1] / "playbooks" / "demo.yml"

# The README's demo playbook wants a host in group demo and a demo_dir.
INVENTORY = """
all:
  children:
    demo:
      hosts:
        localhost:
          ansible_connection: local
          ansible_python_interpreter: python3
          db_password: hunter2
      vars:
        demo_dir: {demo_dir}
"""

DEPLOY = """
- hosts: demo
  gather_facts: false
  params:
    version: {type: string, pattern: "^[0-9.]+$"}
    api_key: {type: string, secret: true, default: ""}
  tasks:
    - name: say version
      command: echo "deploying {{ version }}"
"""

SLOW = """
- hosts: demo
  gather_facts: false
  tasks:
    - name: take a long while
      command: sleep 120
"""

APPROVAL = """
- hosts: demo
  gather_facts: false
  tasks:
    - approval: "Go on with the release?"
    - name: after the approval
      command: echo approved
"""


def demo_project(project: CorralProject) -> None:
    """The README's demo playbook, a playbook with params, and a slow one; the project's
    inventory is inventory.yml (the ``served`` fixture's inventory.ini would come first)."""
    (project.path / "inventory.ini").unlink(missing_ok=True)
    project.write("playbooks/demo.yml", DEMO.read_text())
    project.write("inventory.yml", INVENTORY.format(demo_dir=project.path / "demo-out"))
    project.write("deploy.yml", DEPLOY)
    project.write("slow.yml", SLOW)
    project.write("approve.yml", APPROVAL)


def stdio(project: CorralProject, *flags: str) -> Client:
    """A client that starts ``corral mcp FLAGS`` in the project, as an MCP client does."""
    server = StdioServerParameters(
        command=sys.executable,
        args=["-m", "corral", "mcp", *flags],
        cwd=project.path,
        env={"NO_COLOR": "1", **project.env},
    )
    return _client(server)


def over_http(url: str, token: str) -> Client:
    """A client of ``URL/mcp`` sending ``token``."""
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30)
    return _client(streamable_http_client(f"{url}/mcp", http_client=http))


def _client(server: Any) -> Client:
    info = Implementation(name=CLIENT, version="1.0")
    return Client(server, client_info=info, read_timeout_seconds=60)


async def call(client: Client, tool: str, **args: Any) -> dict[str, Any]:
    """The tool's structured result; fails the test when the tool reports an error."""
    result = await client.call_tool(tool, args)
    assert not result.is_error, f"{tool}: {_text(result)}"
    assert result.structured_content is not None
    return dict(result.structured_content)


async def refused(client: Client, tool: str, **args: Any) -> str:
    """The error line the tool answers with; fails the test when the tool succeeds."""
    result = await client.call_tool(tool, args)
    assert result.is_error, f"{tool} was not refused: {result.structured_content}"
    return _text(result)


def _text(result: Any) -> str:
    return " ".join(getattr(part, "text", "") for part in result.content)


async def wait_status(
    client: Client, run_id: str, wanted: set[str], timeout: float = 90
) -> dict[str, Any]:
    """Poll run_status until the run's status is one of ``wanted``."""
    deadline = time.monotonic() + timeout
    status: dict[str, Any] = {}
    while time.monotonic() < deadline:
        status = await call(client, "run_status", run=run_id)
        if status["run"]["status"] in wanted:
            return status
        await anyio.sleep(0.2)
    logs = await call(client, "run_logs", run=run_id, lines=20)
    raise AssertionError(
        f"run {run_id} not {wanted} after {timeout:g}s: {status.get('run')}\n{logs['text']}"
    )


def audit_rows(project: CorralProject) -> list[dict[str, Any]]:
    """The store's audit rows, oldest first, with their args decoded."""
    from corral.store import Store

    store = Store(Path(project.env["CORRAL_HOME"]) / "corral.db")
    try:
        rows = store.conn.execute(
            "SELECT channel, client, action, args, outcome, run_id FROM audit ORDER BY id"
        ).fetchall()
    finally:
        store.close()
    keys = ("channel", "client", "action", "args", "outcome", "run_id")
    found = [dict(zip(keys, row, strict=True)) for row in rows]
    for row in found:
        row["args"] = json.loads(row["args"])
    return found
