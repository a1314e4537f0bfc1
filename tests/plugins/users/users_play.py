"""Running a play of user/group/getent tasks with corral on the Debian test hosts."""

from __future__ import annotations

from typing import Any

from debian_hosts import DebianFleet

from corral.testing import CliResult, CorralProject


def play(
    project: CorralProject, fleet: DebianFleet, tasks: str, *args: str, become: bool = True
) -> tuple[CliResult, list[dict[str, Any]]]:
    """Run ``tasks`` (YAML list items) on every fleet host; the CLI result and task results."""
    body = "".join(f"    {line}\n" for line in tasks.strip("\n").splitlines())
    header = f"- hosts: debian\n  gather_facts: false\n  become: {str(become).lower()}\n"
    project.write("site.yml", f"{header}  tasks:\n{body}")
    result = project.run("run", "site.yml", "-i", str(fleet.inventory), "--output", "json", *args)
    events = [e for e in result.json_lines() if e.get("event") == "task_result"]
    return result, events


def results(events: list[dict[str, Any]], task: str) -> list[dict[str, Any]]:
    return [e["result"] for e in events if e.get("task") == task]
