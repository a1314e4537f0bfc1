"""``known_hosts`` (a step of the users family) against ansible-playbook on Debian hosts.

It lives here, beside tests/plugins/system/debrun.py, which runs a playbook with both
tools. ansible-playbook manages one host's file and corral the other's, twice each; the
files must be the same (hashed names compared by shape, their salt is random) and the
second runs change nothing.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from debian_hosts import DebianFleet, FleetFactory
from debrun import ansible, corral, statuses
from sshd import keygen

from corral.testing import CorralProject

PATH = "/etc/ssh/ssh_known_hosts"


@pytest.fixture(scope="module")
def fleet(module_debian_fleet: FleetFactory) -> DebianFleet:
    return module_debian_fleet(2, prefix="kh")


def tasks(blobs: list[str]) -> str:
    b1, b2, _, b4 = blobs
    items = (
        f"known_hosts: path={PATH} name=server1.example.com "
        f"key='server1.example.com ssh-ed25519 {b1}'",
        f"known_hosts: path={PATH} name=[10.0.0.5]:2222 key='[10.0.0.5]:2222 ssh-ed25519 {b2}'",
        f"known_hosts: path={PATH} name=Server1.example.com "
        f"key='server1.example.com ssh-ed25519 {b1}'",
        f"known_hosts: path={PATH} name=hashed.example.com hash_host=yes "
        f"key='hashed.example.com ssh-ed25519 {b4}'",
        f"known_hosts: path={PATH} name=old.example.com state=absent",
        f"known_hosts: path={PATH} name=gone.example.com state=absent "
        f"key='gone.example.com ssh-ed25519 {b1}'",
    )
    return "".join(f"    - {item}\n" for item in items)


def play(host: str, blobs: list[str]) -> str:
    return f"- hosts: {host}\n  gather_facts: false\n  become: true\n  tasks:\n{tasks(blobs)}"


def shape(text: str) -> str:
    return re.sub(r"\|1\|[^ ]+", "|1|HASH", text)


def test_known_hosts_matches_ansible(
    fleet: DebianFleet, corral_project: CorralProject, tmp_path: Path
) -> None:
    blobs = [keygen(tmp_path / f"k{n}").split()[1] for n in range(4)]
    deb1, deb2 = (h.name for h in fleet.hosts)
    start = (
        "# site keys\nold.example.com ssh-rsa AAAAB3NzaC1yc2E=\n"
        f"server1.example.com ssh-ed25519 {blobs[2]}\n"
    )
    for host in (deb1, deb2):
        fleet.write(host, PATH, start)
    first = ansible(tmp_path / "a1", fleet.inventory, play(deb1, blobs))
    assert "changed=4" in first, first
    second = ansible(tmp_path / "a2", fleet.inventory, play(deb1, blobs))
    assert "changed=0" in second, second

    checked = corral(corral_project, fleet.inventory, play(deb2, blobs), "--check", "--diff")
    assert statuses(checked) == ["changed"] * 5 + ["ok"]  # nothing written: no 2nd match
    assert fleet.check(deb2, ["cat", PATH]).count("\n") == 3
    done = corral(corral_project, fleet.inventory, play(deb2, blobs))
    assert statuses(done) == ["changed", "changed", "ok", "changed", "changed", "ok"]
    assert statuses(corral(corral_project, fleet.inventory, play(deb2, blobs))) == ["ok"] * 6
    theirs, ours = (fleet.check(h, ["cat", PATH]) for h in (deb1, deb2))
    assert shape(ours) == shape(theirs)
    assert "|1|" in ours
    assert "old.example.com" not in ours
    assert "[10.0.0.5]:2222" in ours
    olds = [fleet.check(h, ["cat", f"{PATH}.old"]) for h in (deb1, deb2)]
    assert shape(olds[0]) == shape(olds[1])  # ssh-keygen -R's backup
    modes = [fleet.check(h, ["stat", "-c", "%a %U", PATH]) for h in (deb1, deb2)]
    assert modes[0] == modes[1]
    found = fleet.exec(deb2, ["ssh-keygen", "-F", "hashed.example.com", "-f", PATH])
    assert blobs[3] in found.stdout


def test_a_key_for_another_host_fails(fleet: DebianFleet, corral_project: CorralProject) -> None:
    task = f"known_hosts: path={PATH} name=a.example.com key='b.example.com ssh-ed25519 AAAA'"
    body = f"- hosts: {fleet.hosts[1].name}\n  gather_facts: false\n  become: true\n  tasks:\n"
    events = corral(corral_project, fleet.inventory, f"{body}    - {task}\n")
    assert statuses(events) == ["failed"]
    assert "does not match" in events[0]["result"]["msg"]
