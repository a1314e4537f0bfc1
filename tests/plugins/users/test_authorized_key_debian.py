"""``authorized_key`` on a real Debian host over SSH with become.

ansible.posix (where Ansible keeps the module) is not installed here, so the files are
compared with what that module writes, worked out by hand from its source: key lines
re-made as ``OPTIONS TYPE BLOB COMMENT`` (a trailing space when there is no comment), a
changed key moved to the end, other lines kept, the file 0600 and its directory 0700,
both the user's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from debian_hosts import DebianFleet, FleetFactory
from sshd import keygen
from users_play import play as run_play

from corral.testing import CorralProject


@pytest.fixture(scope="module")
def fleet(module_debian_fleet: FleetFactory) -> DebianFleet:
    fleet = module_debian_fleet(1, prefix="akey")
    fleet.check(fleet.hosts[0], ["useradd", "-m", "-s", "/bin/bash", "alice"])
    fleet.check(fleet.hosts[0], ["useradd", "-m", "-s", "/bin/bash", "bob"])
    return fleet


@pytest.fixture(scope="module")
def blobs(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """Five real ed25519 public key blobs."""
    root = tmp_path_factory.mktemp("keys")
    return [keygen(Path(root, f"k{n}")).split()[1] for n in range(5)]


def play(*tasks: str) -> str:
    return "".join(f"- {task}\n" for task in tasks)


def corral(
    project: CorralProject, fleet: DebianFleet, tasks: str, *args: str
) -> list[dict[str, Any]]:
    project.env.setdefault("CORRAL_STORE", "off")
    out, events = run_play(project, fleet, tasks, *args)
    assert events, out.output
    return events


def statuses(events: list[dict[str, Any]]) -> list[str]:
    return [e["status"] for e in events]


def read(fleet: DebianFleet, path: str) -> str:
    return fleet.exec(fleet.hosts[0], ["sh", "-c", f"cat {path} || echo MISSING"]).stdout


def perms(fleet: DebianFleet, *paths: str) -> list[str]:
    out = fleet.check(fleet.hosts[0], ["stat", "-c", "%a %U %G", *paths])
    return out.splitlines()


def test_keys_added_replaced_and_removed_as_ansible_writes_them(
    fleet: DebianFleet, blobs: list[str], corral_project: CorralProject
) -> None:
    b1, b2, b3, b4, b5 = blobs
    path = "/home/alice/.ssh/authorized_keys"
    fleet.check(fleet.hosts[0], ["install", "-d", "-o", "alice", "-m", "755", "/home/alice/.ssh"])
    fleet.write(
        fleet.hosts[0], path, f"# managed\nssh-ed25519   {b1}  old@x\nssh-ed25519 {b5} gone\n"
    )
    tasks = (
        f"authorized_key: user=alice key='ssh-ed25519 {b2} k2@host'",
        f"""authorized_key: {{user: alice, key: "ssh-ed25519 {b1} old@x", """
        """key_options: 'no-pty,from="10.0.0.1,10.0.0.2"'}""",
        f"ansible.posix.authorized_key: {{user: alice, key: [ssh-ed25519 {b3} x, "
        f"'ssh-ed25519 {b4}'], comment: team}}",
        f"authorized_key: user=alice state=absent key='ssh-ed25519 {b5}'",
    )
    checked = corral(corral_project, fleet, play(*tasks), "--check", "--diff")
    assert statuses(checked) == ["changed"] * 4
    assert checked[0]["result"]["diff"]["after"] == (
        f"# managed\nssh-ed25519 {b1} old@x\nssh-ed25519 {b5} gone\nssh-ed25519 {b2} k2@host\n"
    )
    assert read(fleet, path) == f"# managed\nssh-ed25519   {b1}  old@x\nssh-ed25519 {b5} gone\n"
    done = corral(corral_project, fleet, play(*tasks))
    assert statuses(done) == ["changed"] * 4
    assert done[0]["result"]["keyfile"] == path
    assert done[0]["result"]["user"] == "alice"
    assert done[0]["result"]["exclusive"] is False
    assert read(fleet, path) == (
        "# managed\n"
        f"ssh-ed25519 {b2} k2@host\n"
        f'no-pty,from="10.0.0.1,10.0.0.2" ssh-ed25519 {b1} old@x\n'
        f"ssh-ed25519 {b3} team\n"
        f"ssh-ed25519 {b4} team\n"
    )
    assert perms(fleet, path, "/home/alice/.ssh") == ["600 alice alice", "700 alice alice"]
    assert statuses(corral(corral_project, fleet, play(*tasks))) == ["ok"] * 4

    exclusive = f"authorized_key: user=alice key='ssh-ed25519 {b3}' comment=team exclusive=yes"
    assert statuses(corral(corral_project, fleet, play(exclusive))) == ["changed"]
    assert read(fleet, path) == f"ssh-ed25519 {b3} team\n"
    assert statuses(corral(corral_project, fleet, play(exclusive))) == ["ok"]


def test_a_new_file_and_directory_are_made_for_the_user(
    fleet: DebianFleet, blobs: list[str], corral_project: CorralProject
) -> None:
    task = f"authorized_key: user=bob key='ssh-ed25519 {blobs[0]}'"
    checked = corral(corral_project, fleet, play(task), "--check")
    assert statuses(checked) == ["changed"]
    assert read(fleet, "/home/bob/.ssh/authorized_keys") == "MISSING\n"
    assert statuses(corral(corral_project, fleet, play(task))) == ["changed"]
    assert read(fleet, "/home/bob/.ssh/authorized_keys") == f"ssh-ed25519 {blobs[0]} \n"
    assert perms(fleet, "/home/bob/.ssh/authorized_keys", "/home/bob/.ssh") == [
        "600 bob bob",
        "700 bob bob",
    ]
    assert statuses(corral(corral_project, fleet, play(task))) == ["ok"]


def test_bad_input_fails_clearly_and_changes_nothing(
    fleet: DebianFleet, blobs: list[str], corral_project: CorralProject
) -> None:
    tasks = (
        f"authorized_key: user=nosuchuser key='ssh-ed25519 {blobs[0]}'",
        "authorized_key: user=bob key=https://github.com/bob.keys",
        "authorized_key: user=bob key='not a key'",
    )
    for task in tasks:
        events = corral(corral_project, fleet, play(task))
        assert statuses(events) == ["failed"]
        assert events[0]["result"]["msg"].split(":")[0] in (
            "Failed to lookup user nosuchuser",
            "key",
        )
    assert read(fleet, "/home/nosuchuser/.ssh/authorized_keys") == "MISSING\n"
