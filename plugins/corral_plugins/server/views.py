"""What the JSON API and the MCP tools both answer, as plain functions of the project
and the store (no HTTP in here): the playbook listing, a playbook's params schema, a
run's logs, and whether a run can be resumed."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from corral.store.db import Store
    from corral_plugins.server.project import Project

__all__ = ["log_text", "params_schema", "playbook_file", "playbook_rows", "resume_refusal"]


def playbook_rows(project: Project) -> list[dict[str, Any]]:
    """The served playbooks (plays, params, triggers), then the broken ones with their error."""
    listed: list[dict[str, Any]] = [
        {
            "name": name,
            "plays": [play.name for play in served.playbook.plays],
            "params": sorted(served.params),
            "triggers": [{"kind": e.kind, "key": e.key, "play": e.play} for e in served.entries],
            "error": project.errors.get(name),
        }
        for name, served in sorted(project.served.items())
    ]
    broken = sorted(set(project.errors) - set(project.served))
    listed += [{"name": name, "error": project.errors[name]} for name in broken]
    return listed


def params_schema(specs: Mapping[str, Any]) -> dict[str, Any]:
    """A playbook's params (name -> ParamSpec) as one JSON Schema object; a secret one
    is ``writeOnly``."""
    return {
        "type": "object",
        "additionalProperties": False,
        "required": sorted(n for n, spec in specs.items() if spec.required),
        "properties": {
            n: {**spec.schema, **({"writeOnly": True} if spec.secret else {})}
            for n, spec in specs.items()
        },
    }


def playbook_file(root: Path, name: str) -> Path | None:
    """The project's file ``name`` (relative to ``root``), or None when it is not a file
    inside the project (``../`` and absolute paths included)."""
    path = (root / name).resolve()
    if not path.is_relative_to(root.resolve()) or not path.is_file():
        return None
    return path


def log_text(store: Store, run_id: str, output: str) -> str:
    """The run's events, one JSON object a line (as ``corral logs --json``), then the
    worker's console ``output`` when there is any."""
    from corral.store.queries import all_events

    lines = [json.dumps(event, default=str) for event in all_events(store, run_id)]
    if output:
        lines.append(json.dumps({"event": "worker_output", "text": output}))
    return "\n".join(lines) + "\n"


def resume_refusal(row: Mapping[str, Any]) -> str | None:
    """Why the run ``row`` cannot be resumed, or None when it can."""
    if row["status"] in ("failed", "interrupted", "cancelled"):
        return None
    return f"run {row['id']} is {row['status']}: only failed, interrupted or cancelled runs resume"
