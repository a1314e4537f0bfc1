"""The ``user`` step on real Debian hosts over SSH with become (tests/debian_hosts.py)."""

from __future__ import annotations

import pytest
from debian_hosts import DebianFleet, FleetFactory
from users_play import play, results

from corral.testing import CorralProject

# sha512-crypt of "secret" (a fixed salt, so the test is deterministic).
HASH = (
    "$6$corralsalt$Yt4ScpzVw4pmMqU0aG/N5o9Wb3ZMlSSw3H6KZWeJJdmQk6gRxHl.8U4n7aLxNN9l8q3b"
    "pVZD8rDUSj5Yd6c8T0"
)


@pytest.fixture(scope="module")
def fleet(module_debian_fleet: FleetFactory) -> DebianFleet:
    return module_debian_fleet(1)


def passwd(fleet: DebianFleet, name: str) -> list[str] | None:
    out = fleet.exec("deb1", ["getent", "passwd", name])
    return out.stdout.strip().split(":") if out.rc == 0 else None


def test_a_user_is_created_once_and_check_mode_changes_nothing(
    fleet: DebianFleet, corral_project: CorralProject
) -> None:
    fleet.check("deb1", ["groupadd", "-f", "ops"])
    tasks = """
- name: alice
  user:
    name: alice
    uid: 2001
    comment: Alice Admin
    shell: /bin/bash
    groups: [ops, adm]
"""
    result, events = play(corral_project, fleet, tasks, "--check")
    assert result.exit_code == 0, result.output
    assert results(events, "alice")[0]["changed"] is True
    assert passwd(fleet, "alice") is None

    result, events = play(corral_project, fleet, tasks)
    assert result.exit_code == 0, result.output
    created = results(events, "alice")[0]
    assert created["changed"] is True
    assert created["uid"] == 2001
    assert created["home"] == "/home/alice"
    assert created["groups"] == "ops,adm"
    assert created["create_home"] is True
    assert passwd(fleet, "alice") == [
        "alice", "x", "2001", "2001", "Alice Admin", "/home/alice", "/bin/bash",
    ]  # fmt: skip
    members = fleet.check("deb1", ["id", "-nG", "alice"]).split()
    assert sorted(members) == ["adm", "alice", "ops"]
    assert fleet.check("deb1", ["stat", "-c", "%U", "/home/alice"]).strip() == "alice"

    result, _ = play(corral_project, fleet, tasks)
    result.assert_recap("deb1", changed=0, ok=1)


def test_groups_are_replaced_or_appended(fleet: DebianFleet, corral_project: CorralProject) -> None:
    fleet.check("deb1", ["useradd", "-G", "adm", "bob"])
    result, _ = play(corral_project, fleet, "- user: {name: bob, groups: [users], append: true}")
    result.assert_recap("deb1", changed=1)
    assert sorted(fleet.check("deb1", ["id", "-nG", "bob"]).split()) == ["adm", "bob", "users"]
    result, _ = play(corral_project, fleet, "- user: {name: bob, groups: users}")
    result.assert_recap("deb1", changed=1)
    assert sorted(fleet.check("deb1", ["id", "-nG", "bob"]).split()) == ["bob", "users"]
    result, _ = play(corral_project, fleet, "- user: {name: bob, groups: users}")
    result.assert_recap("deb1", changed=0)
    result, _ = play(corral_project, fleet, "- user: {name: bob, groups: []}")
    result.assert_recap("deb1", changed=1)
    assert fleet.check("deb1", ["id", "-nG", "bob"]).split() == ["bob"]


def test_password_hash_lock_and_update_on_create(
    fleet: DebianFleet, corral_project: CorralProject
) -> None:
    tasks = f"- user: {{name: carol, password: '{HASH}', update_password: on_create}}"
    play(corral_project, fleet, tasks)
    shadow = fleet.check("deb1", ["getent", "shadow", "carol"]).split(":")
    assert shadow[1] == HASH
    # on_create: a different hash is not applied to an existing user.
    tasks = "- user: {name: carol, password: '$6$x$y', update_password: on_create}"
    result, events = play(corral_project, fleet, tasks)
    result.assert_recap("deb1", changed=0)
    assert events[0]["result"]["password"] == "NOT_LOGGING_PASSWORD"
    result, _ = play(corral_project, fleet, "- user: {name: carol, password_lock: true}")
    result.assert_recap("deb1", changed=1)
    assert fleet.check("deb1", ["getent", "shadow", "carol"]).split(":")[1] == "!" + HASH
    result, _ = play(corral_project, fleet, "- user: {name: carol, password_lock: true}")
    result.assert_recap("deb1", changed=0)


def test_expiry_and_password_ageing(fleet: DebianFleet, corral_project: CorralProject) -> None:
    # 1 Jan 2030 00:00 UTC = day 21915 since the epoch.
    tasks = "- user: {name: dave, expires: 1893456000, password_expire_max: 90}"
    result, _ = play(corral_project, fleet, tasks)
    result.assert_recap("deb1", changed=1)
    shadow = fleet.check("deb1", ["getent", "shadow", "dave"]).strip().split(":")
    assert shadow[4] == "90"
    assert shadow[7] == "21915"
    result, _ = play(corral_project, fleet, tasks)
    result.assert_recap("deb1", changed=0)
    result, _ = play(corral_project, fleet, "- user: {name: dave, expires: -1}")
    result.assert_recap("deb1", changed=1)
    assert fleet.check("deb1", ["getent", "shadow", "dave"]).strip().split(":")[7] == ""


def test_an_ssh_key_is_generated_once(fleet: DebianFleet, corral_project: CorralProject) -> None:
    tasks = "- user: {name: erin, generate_ssh_key: true, ssh_key_type: ed25519}"
    result, events = play(corral_project, fleet, tasks)
    assert result.exit_code == 0, result.output
    made = events[0]["result"]
    assert made["ssh_key_file"] == "/home/erin/.ssh/id_ed25519"
    assert made["ssh_public_key"].startswith("ssh-ed25519 ")
    assert "SHA256:" in made["ssh_fingerprint"]
    owners = fleet.check(
        "deb1", ["stat", "-c", "%U %a", "/home/erin/.ssh", "/home/erin/.ssh/id_ed25519"]
    )
    assert owners.split("\n")[:2] == ["erin 700", "erin 600"]
    result, events = play(corral_project, fleet, tasks)
    result.assert_recap("deb1", changed=0)
    assert events[0]["result"]["ssh_public_key"] == made["ssh_public_key"]


def test_a_user_is_removed_with_its_home(fleet: DebianFleet, corral_project: CorralProject) -> None:
    fleet.check("deb1", ["useradd", "-m", "frank"])
    tasks = "- user: {name: frank, state: absent, remove: true}"
    result, _ = play(corral_project, fleet, tasks, "--check")
    result.assert_recap("deb1", changed=1)
    assert passwd(fleet, "frank") is not None
    result, events = play(corral_project, fleet, tasks)
    result.assert_recap("deb1", changed=1)
    assert events[0]["result"]["remove"] is True
    assert passwd(fleet, "frank") is None
    assert fleet.exec("deb1", ["test", "-e", "/home/frank"]).rc == 1
    result, _ = play(corral_project, fleet, tasks)
    result.assert_recap("deb1", changed=0)


def test_an_invalid_user_name_fails_clearly_and_creates_nothing(
    fleet: DebianFleet, corral_project: CorralProject
) -> None:
    before = fleet.check("deb1", ["cat", "/etc/passwd", "/etc/group"])
    result, events = play(corral_project, fleet, "- user: {name: 'bad:name'}")
    assert result.exit_code != 0
    message = events[0]["result"]["msg"]
    assert message.startswith("name: 'bad:name' is not a valid user name")
    assert "\n" not in message
    result, events = play(corral_project, fleet, "- user: {name: gina, groups: [nosuchgroup]}")
    assert events[0]["result"]["msg"] == "Group nosuchgroup does not exist"
    assert fleet.check("deb1", ["cat", "/etc/passwd", "/etc/group"]) == before


def test_system_user_without_home(fleet: DebianFleet, corral_project: CorralProject) -> None:
    tasks = "- user: {name: svc, system: true, create_home: false, shell: /usr/sbin/nologin}"
    result, _ = play(corral_project, fleet, tasks)
    result.assert_recap("deb1", changed=1)
    entry = passwd(fleet, "svc")
    assert entry is not None
    assert int(entry[2]) < 1000
    assert fleet.exec("deb1", ["test", "-e", entry[5]]).rc == 1
    result, _ = play(corral_project, fleet, tasks)
    result.assert_recap("deb1", changed=0)
