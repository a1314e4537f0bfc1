"""The task results of a ``corral run --output json`` and the webhook messages of a run,
for the ready playbooks' tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pytest_httpserver import HTTPServer

from corral.testing.fixtures import CliResult


def results(result: CliResult) -> list[dict[str, Any]]:
    """Every ``task_result`` event, in order."""
    return [e for e in result.json_lines() if e.get("event") == "task_result"]


def messages(result: CliResult, task: str) -> list[Any]:
    """The ``msg`` of each result of the task named ``task`` (a debug's message)."""
    return [e["result"]["msg"] for e in results(result) if e["task"] == task]


def changed_tasks(result: CliResult) -> list[str]:
    return [e["task"] for e in results(result) if e["status"] == "changed"]


def webhook() -> Iterator[HTTPServer]:
    """A webhook receiver on this machine (``url_for("/hook")``) for ``notify_url``; a
    module's fixture yields from it."""
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.expect_request("/hook").respond_with_data("ok")
    server.start()
    yield server
    server.stop()


def hook_reports(hook: HTTPServer, event: str) -> list[dict[str, Any]]:
    """The ``report`` of each message with this ``event`` the webhook got, in order."""
    payloads = [request.get_json() for request, _ in hook.log]
    return [p["report"] for p in payloads if p["event"] == event]
