"""A project for the policy tests: local hosts, playbooks that leave one file per host."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

PLAYBOOK = """
- name: make files
  hosts: all
  gather_facts: false
  params:
    ticket: {{type: string, default: ""}}
  tasks:
    - name: one file per host
      file: {{path: "{out}/made-{{{{ inventory_hostname }}}}", state: touch}}
"""


def policy_project(corral_project: Any, tmp_path: Path, inventory: str, *playbooks: str) -> Any:
    """``corral_project`` with ``hosts.ini`` and the playbooks; ``.out`` holds their files."""
    out = tmp_path / "out"
    out.mkdir()
    corral_project.write("hosts.ini", inventory)
    for name in playbooks or ("site.yml",):
        corral_project.write(name, PLAYBOOK.format(out=out))
    corral_project.out = out
    return corral_project


def made(project: Any) -> list[str]:
    """The hosts the play made its file on: none when a run was refused."""
    return sorted(p.name.removeprefix("made-") for p in project.out.iterdir())


def stored_json(project: Any, sql: str) -> list[Any]:
    """The JSON column the query selects, from each row of the project's run store."""
    with sqlite3.connect(Path(project.env["CORRAL_HOME"]) / "corral.db") as db:
        return [json.loads(value) for (value,) in db.execute(sql).fetchall()]
