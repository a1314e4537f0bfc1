"""The cron step on a cron_file in a temporary directory, over the local connection.

Only files under tmp_path are touched (the machine's crontab never is); the crontab(1)
path runs on the Debian hosts (test_cron_debian.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from debrun import corral, statuses

from corral.testing import CorralProject


@pytest.fixture
def project(corral_project: CorralProject, tmp_path: Path) -> CorralProject:
    corral_project.env.update({"HOME": str(tmp_path)})
    corral_project.write("hosts.ini", "here ansible_connection=local\n")
    return corral_project


def run(project: CorralProject, *tasks: str, args: tuple[str, ...] = ()) -> list[str]:
    body = "".join(f"    - cron: {task}\n" for task in tasks)
    play = f"- hosts: all\n  gather_facts: false\n  tasks:\n{body}"
    events = corral(project, project.path / "hosts.ini", play, *args)
    return statuses(events)


def test_an_unmarked_identical_line_is_adopted(project: CorralProject, tmp_path: Path) -> None:
    path = tmp_path / "jobs"
    path.write_text("SHELL=/bin/sh\n0 5 * * * root /usr/bin/report\n")
    task = f"name=report cron_file={path} user=root minute=0 hour=5 job=/usr/bin/report"
    assert run(project, task) == ["changed"]
    assert path.read_text() == "SHELL=/bin/sh\n#Ansible: report\n0 5 * * * root /usr/bin/report\n"
    assert run(project, task) == ["ok"]


def test_variables_before_and_after(project: CorralProject, tmp_path: Path) -> None:
    path = tmp_path / "vars"
    tasks = (
        f"name=PATH env=yes job=/bin cron_file={path} user=root",
        f"name=SHELL env=yes job=/bin/bash insertbefore=PATH cron_file={path} user=root",
        f"name=MAILTO env=yes job=ops insertafter=PATH cron_file={path} user=root",
    )
    assert run(project, *tasks) == ["changed"] * 3
    assert path.read_text() == 'SHELL="/bin/bash"\nPATH="/bin"\nMAILTO="ops"\n'
    assert run(project, *tasks) == ["ok"] * 3


def test_a_missing_final_newline_is_a_change(project: CorralProject, tmp_path: Path) -> None:
    path = tmp_path / "nonl"
    path.write_text("#Ansible: x\n@daily root /bin/x")
    task = f"name=x special_time=daily job=/bin/x cron_file={path} user=root"
    assert run(project, task) == ["changed"]
    assert path.read_text() == "#Ansible: x\n@daily root /bin/x\n"


def test_removing_the_last_job_removes_the_file_but_not_in_check_mode(
    project: CorralProject, tmp_path: Path
) -> None:
    path = tmp_path / "only"
    path.write_text("#Ansible: x\n@daily root /bin/x\n")
    task = f"name=x cron_file={path} state=absent"
    assert run(project, task, args=("--check",)) == ["changed"]
    assert path.exists()
    assert run(project, task) == ["changed"]
    assert not path.exists()
    assert run(project, task) == ["ok"]


def test_backup_keeps_the_old_text(project: CorralProject, tmp_path: Path) -> None:
    path = tmp_path / "kept"
    path.write_text("#Ansible: x\n@daily root /bin/x\n")
    task = f"name=x hour=1 job=/bin/x cron_file={path} user=root backup=yes"
    body = f"    - cron: {task}\n      register: out\n"
    play = f"- hosts: all\n  gather_facts: false\n  tasks:\n{body}"
    events = corral(project, project.path / "hosts.ini", play)
    backup = Path(events[0]["result"]["backup_file"])
    try:
        assert backup.read_text() == "#Ansible: x\n@daily root /bin/x\n"
        assert path.read_text() == "#Ansible: x\n* 1 * * * root /bin/x\n"
    finally:
        backup.unlink()
