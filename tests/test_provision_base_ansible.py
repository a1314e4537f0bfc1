"""playbooks/provision-base.yml under ansible-playbook, unchanged, against corral's run of it.

Two fresh Debian hosts of the same image: ansible-playbook provisions one, corral the
other. Both tools report the same status for every task on the first run, ``changed=0``
on the second, and leave the same files, users, keys and packages; and each tool, in
``--check`` mode, finds nothing to do on the host the other one provisioned.

ansible-playbook needs the ansible.posix and community.general collections (fetched from
PyPI with pip, tests/ansible_extra_collections.py) and python3-apt on the hosts (its .deb is
fetched from Debian's archive with apt-get download): hence the ``archive`` marker.
"""

from __future__ import annotations

import json
import subprocess
import sys
from functools import partial
from pathlib import Path

import pytest
from baseline_hosts import (
    PLAYBOOK,
    ansible_env,
    build_baseline_repo,
    state,
    twin_hosts,
    write_vars,
)
from debian_hosts import DebianFleet, FleetFactory

from corral.testing import CorralProject

pytestmark = [pytest.mark.slow, pytest.mark.archive]

ANSIBLE_HOST = "twin1"
CORRAL_HOST = "twin2"


@pytest.fixture(scope="module")
def fleet(
    module_debian_fleet: FleetFactory, tmp_path_factory: pytest.TempPathFactory
) -> DebianFleet:
    repo = tmp_path_factory.mktemp("baseline") / "repo"
    return twin_hosts(module_debian_fleet, repo, partial(build_baseline_repo, python_apt=True))


def ansible(fleet: DebianFleet, workdir: Path, host: str, *args: str) -> dict[str, str]:
    """Run the playbook with ansible-playbook on ``host``; each task's status."""
    extra = write_vars(workdir)
    env = ansible_env(workdir / "home") | {"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"}
    done = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(fleet.inventory),
         "-e", f"@{extra}", "--limit", host, str(PLAYBOOK), *args],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr
    report = json.loads(done.stdout)
    out: dict[str, str] = {}
    for task in report["plays"][0]["tasks"]:
        result = task["hosts"][host]
        status = "failed" if result.get("failed") else "ok"
        out[task["task"]["name"]] = "changed" if result.get("changed") else status
    return out


def corral(fleet: DebianFleet, project: CorralProject, host: str, *args: str) -> dict[str, str]:
    """Run the playbook with corral on ``host``; each task's status."""
    project.env["CORRAL_STORE"] = "off"
    extra = write_vars(project.path)
    out = project.run(
        "run", str(PLAYBOOK), "-i", str(fleet.inventory), "-e", f"@{extra}",
        "--limit", host, "--output", "json", *args,
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    events = [e for e in out.json_lines() if e["event"] == "task_result"]
    return {e["task"]: e["status"] for e in events}


def test_ansible_and_corral_agree_on_every_task_and_on_the_result(
    fleet: DebianFleet, corral_project: CorralProject, tmp_path: Path
) -> None:
    first_ansible = ansible(fleet, tmp_path, ANSIBLE_HOST)
    first_corral = corral(fleet, corral_project, CORRAL_HOST)
    assert first_corral == first_ansible
    assert "changed" in first_ansible.values()

    second_ansible = ansible(fleet, tmp_path, ANSIBLE_HOST)
    second_corral = corral(fleet, corral_project, CORRAL_HOST)
    assert set(second_ansible.values()) == {"ok"}
    assert second_corral == second_ansible

    assert state(fleet, CORRAL_HOST) == state(fleet, ANSIBLE_HOST)
    # Each tool finds the other's host already provisioned.
    crossed_ansible = ansible(fleet, tmp_path, CORRAL_HOST, "--check")
    crossed_corral = corral(fleet, corral_project, ANSIBLE_HOST, "--check")
    assert set(crossed_ansible.values()) == {"ok"}
    assert set(crossed_corral.values()) == {"ok"}
