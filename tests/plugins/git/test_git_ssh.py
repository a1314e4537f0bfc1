"""The git step over the ssh connection, and a remote reached over ssh with ``key_file``.

Real sshd processes on loopback (tests/sshd.py); the host runs the test user's commands.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from gitrepos import Upstream, git, results
from sshd import TEST_USER, SshdFleet, module_fleet

from corral.testing import CorralProject


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshdFleet]:
    with module_fleet(tmp_path_factory, 1, prefix="git") as fleet:
        yield fleet


@pytest.fixture
def shared(fleet: SshdFleet, request: pytest.FixtureRequest) -> Iterator[Path]:
    """A directory the test user owns, with an upstream repository in it."""
    path = fleet.scratch(request.node.name.replace("[", "-").rstrip("]"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_clone_over_the_ssh_connection(
    corral_project: CorralProject, fleet: SshdFleet, shared: Path, tmp_path: Path
) -> None:
    upstream = Upstream(shared / "src")
    shutil.chown(shared / "src", TEST_USER)
    for path in (shared / "src").rglob("*"):
        shutil.chown(path, TEST_USER)
    corral_project.env.update({"CORRAL_STORE": "off", "HOME": str(tmp_path)})
    corral_project.write(
        "hosts.ini", fleet.inventory_ini(corral_known_hosts=str(fleet.root / "known_hosts"))
    )
    dest = shared / "checkout"
    play = f"""
- hosts: all
  gather_facts: false
  tasks:
    - git: repo={upstream.bare} dest={dest} version=v1
"""
    first = results(corral_project, play)[0]
    assert first["status"] == "changed", first
    assert first["result"]["after"] == upstream.first
    assert (dest / "README").read_text() == "one\n"
    assert dest.stat().st_uid != 0  # cloned by the test user, on the host
    assert results(corral_project, play)[0]["status"] == "ok"


def test_remote_over_ssh_with_key_file_and_a_new_host_key(
    corral_project: CorralProject, fleet: SshdFleet, shared: Path, tmp_path: Path
) -> None:
    upstream = Upstream(shared / "src")
    for path in [shared / "src", *(shared / "src").rglob("*")]:
        shutil.chown(path, TEST_USER)
    host = fleet.hosts[0]
    known = tmp_path / "known_hosts"
    url = f"ssh://{TEST_USER}@{host.address}:{host.port}{upstream.bare}"
    corral_project.env.update({"CORRAL_STORE": "off", "HOME": str(tmp_path)})
    corral_project.write("hosts.ini", "here ansible_connection=local\n")
    dest = tmp_path / "co"
    play = f"""
- hosts: all
  gather_facts: false
  tasks:
    - git:
        repo: {url}
        dest: {dest}
        key_file: {fleet.client_key}
        accept_newhostkey: true
        ssh_opts: -o UserKnownHostsFile={known}
"""
    first = results(corral_project, play)[0]
    assert first["status"] == "changed", first
    assert first["result"]["after"] == upstream.second
    # The new host key was accepted and recorded.
    assert host.host_key_line.split()[1] in known.read_text()
    assert git(dest, "remote", "get-url", "origin") == url
    assert results(corral_project, play)[0]["status"] == "ok"
    assert results(corral_project, play, "--check")[0]["status"] == "ok"


def test_clone_with_become_into_a_root_owned_directory(
    corral_project: CorralProject, fleet: SshdFleet, shared: Path, tmp_path: Path
) -> None:
    upstream = Upstream(shared / "src")  # owned by root, like the destination
    target = shared / "rootonly"
    target.mkdir(mode=0o755)
    corral_project.env.update({"CORRAL_STORE": "off", "HOME": str(tmp_path)})
    corral_project.write(
        "hosts.ini", fleet.inventory_ini(corral_known_hosts=str(fleet.root / "known_hosts"))
    )
    play = f"""
- hosts: all
  gather_facts: false
  become: true
  tasks:
    - git: repo={upstream.bare} dest={target}/app
"""
    first = results(corral_project, play)[0]
    assert first["status"] == "changed", first
    assert (target / "app" / "README").stat().st_uid == 0
    assert results(corral_project, play)[0]["status"] == "ok"
    unprivileged = results(corral_project, play.replace("become: true", "become: false"))[0]
    # Without become, git itself refuses a checkout another user owns, and says so.
    assert unprivileged["status"] == "failed"
    assert "dubious ownership" in unprivileged["result"]["msg"]
