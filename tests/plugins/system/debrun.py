"""Running a playbook on the Debian test hosts with corral, and with ansible-playbook."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from debian_hosts import DebianFleet

from corral.testing import CorralProject

BIN = Path(sys.executable).parent


def corral(
    project: CorralProject, inventory: Path, playbook: str, *args: str
) -> list[dict[str, Any]]:
    """Run ``playbook`` with corral; its task results, in order."""
    project.env.setdefault("CORRAL_STORE", "off")
    project.write("site.yml", playbook)
    out = project.run("run", "site.yml", "-i", str(inventory), "--output", "json", *args)
    events = [e for e in out.json_lines() if e["event"] == "task_result"]
    assert events, out.output
    return events


def statuses(events: list[dict[str, Any]]) -> list[str]:
    return [e["status"] for e in events]


def ansible(workdir: Path, inventory: Path, playbook: str, *args: str) -> str:
    """Run ``playbook`` with ansible-playbook; its output (it must succeed)."""
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "site.yml"
    path.write_text(playbook)
    env = {
        **os.environ,
        "HOME": str(workdir),
        "ANSIBLE_LOCAL_TEMP": str(workdir / "tmp"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        # ssh's control socket path must be short (a unix socket's name is at most 108 bytes).
    }
    with tempfile.TemporaryDirectory(prefix="cp-") as control:
        done = subprocess.run(
            [str(BIN / "ansible-playbook"), "-i", str(inventory), str(path), *args],
            env={**env, "ANSIBLE_SSH_CONTROL_PATH_DIR": control},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def play(host: str, *tasks: str) -> str:
    """A play of ``tasks`` (one-line YAML each) on ``host``, with become, no facts."""
    body = "".join(f"    - {task}\n" for task in tasks)
    return f"- hosts: {host}\n  gather_facts: false\n  become: true\n  tasks:\n{body}"


def read(fleet: DebianFleet, host: str, path: str) -> str:
    """A file's text on a Debian host (through docker, not corral), or MISSING."""
    return fleet.exec(host, ["sh", "-c", f"cat {path} 2>/dev/null || echo MISSING"]).stdout
