"""``known_hosts``, ``authorized_key`` and ``mount`` (fstab only) over the local connection.

Only files under tmp_path are touched. The steps read and write through the connection,
so the same code runs here as over SSH (the Debian-host tests) and docker.
"""

from __future__ import annotations

import getpass
import subprocess
from pathlib import Path

import pytest
from debrun import corral, statuses
from sshd import keygen

from corral.testing import CorralProject


@pytest.fixture
def project(corral_project: CorralProject, tmp_path: Path) -> CorralProject:
    corral_project.env.update({"HOME": str(tmp_path)})
    corral_project.write("hosts.ini", "here ansible_connection=local\n")
    return corral_project


def run(project: CorralProject, *tasks: str, args: tuple[str, ...] = ()) -> list[str]:
    body = "".join(f"    - {task}\n" for task in tasks)
    play = f"- hosts: all\n  gather_facts: false\n  tasks:\n{body}"
    return statuses(corral(project, project.path / "hosts.ini", play, *args))


def test_known_hosts_in_a_local_file(project: CorralProject, tmp_path: Path) -> None:
    blob = keygen(tmp_path / "k").split()[1]
    path = tmp_path / "known_hosts"
    task = f"known_hosts: path={path} name=Example.com key='example.com ssh-ed25519 {blob}'"
    assert run(project, task, args=("--check",)) == ["changed"]
    assert not path.exists()
    assert run(project, task) == ["changed"]
    assert path.read_text() == f"example.com ssh-ed25519 {blob}\n"
    assert run(project, task) == ["ok"]
    found = subprocess.run(
        ["ssh-keygen", "-F", "example.com", "-f", str(path)], capture_output=True, check=False
    )
    assert blob.encode() in found.stdout


def test_authorized_key_in_a_local_file(project: CorralProject, tmp_path: Path) -> None:
    blob = keygen(tmp_path / "k").split()[1]
    path = tmp_path / "keys" / "authorized_keys"
    user = getpass.getuser()
    task = f"authorized_key: user={user} path={path} manage_dir=no key='ssh-ed25519 {blob} me'"
    assert run(project, task) == ["changed"]
    assert path.read_text() == f"ssh-ed25519 {blob} me\n"
    assert path.stat().st_mode & 0o777 == 0o600
    assert run(project, task) == ["ok"]


def test_mount_present_in_a_local_fstab(project: CorralProject, tmp_path: Path) -> None:
    fstab = tmp_path / "fstab"
    swap = "mount: name=none src=/swapfile fstype=swap opts=sw fstab={} state=present"
    assert run(project, swap.format(fstab)) == ["changed"]
    assert fstab.read_text() == "/swapfile none swap sw 0 0\n"
    other = "mount: name=none src=/swap2 fstype=swap opts=sw fstab={} state=present"
    assert run(project, swap.format(fstab), other.format(fstab)) == ["ok", "changed"]
    assert fstab.read_text() == "/swapfile none swap sw 0 0\n/swap2 none swap sw 0 0\n"
    gone = f"mount: name=none src=/swapfile fstab={fstab} state=absent_from_fstab"
    assert run(project, gone) == ["changed"]
    assert fstab.read_text() == "/swap2 none swap sw 0 0\n"
