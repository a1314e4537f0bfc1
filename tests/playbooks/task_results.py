"""The task results of a ``corral run --output json``, for the ready playbooks' tests."""

from __future__ import annotations

from typing import Any

from corral.testing.fixtures import CliResult


def results(result: CliResult) -> list[dict[str, Any]]:
    """Every ``task_result`` event, in order."""
    return [e for e in result.json_lines() if e.get("event") == "task_result"]


def messages(result: CliResult, task: str) -> list[Any]:
    """The ``msg`` of each result of the task named ``task`` (a debug's message)."""
    return [e["result"]["msg"] for e in results(result) if e["task"] == task]


def changed_tasks(result: CliResult) -> list[str]:
    return [e["task"] for e in results(result) if e["status"] == "changed"]
