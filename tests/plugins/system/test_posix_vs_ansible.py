"""Differential: ``authorized_key`` and ``mount`` (fstab) against ansible.posix's modules.

ansible.posix is not part of ansible-core: it is taken from the ``ansible`` package's
wheel (tests/ansible_extra_collections.py) and named by ``ANSIBLE_COLLECTIONS_PATH``. The
files are also checked against the format by hand in
test_mount_debian.py and tests/plugins/users/test_authorized_key_debian.py. The same play
runs with ansible-playbook on one Debian host and with corral on the other, twice each;
the files must be byte-identical and the second runs must change nothing.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from ansible_extra_collections import collections_path
from conftest import need
from debian_hosts import DebianFleet, FleetFactory
from debrun import ansible, corral, statuses
from sshd import keygen

from corral.testing import CorralProject

FSTAB = "/etc/fstab.diff"
START = "# test\nUUID=1 / ext4 errors=remount-ro 0 1\n/dev/sdb1\t/srv  ext4 defaults 0 2\n"


@pytest.fixture(scope="module", autouse=True)
def posix_collection() -> Iterator[None]:
    """ansible.posix for ansible-playbook, fetched once from PyPI (ansible_extra_collections)."""
    try:
        path = collections_path()
    except (OSError, subprocess.SubprocessError) as exc:
        need(False, f"ansible.posix could not be fetched: {exc}")
        raise
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ANSIBLE_COLLECTIONS_PATH", str(path))
        yield


@pytest.fixture(scope="module")
def fleet(module_debian_fleet: FleetFactory) -> DebianFleet:
    fleet = module_debian_fleet(2, prefix="posix")
    for host in fleet.hosts:
        fleet.check(host, ["useradd", "-m", "carol"])
    return fleet


def play(host: str, tasks: list[str]) -> str:
    body = "".join(f"    - {task}\n" for task in tasks)
    return f"- hosts: {host}\n  gather_facts: false\n  become: true\n  tasks:\n{body}"


def tasks(blobs: list[str]) -> list[str]:
    b1, b2, b3, b4 = blobs
    return [
        f"ansible.posix.authorized_key: user=carol key='ssh-ed25519 {b1} one@x'",
        f"ansible.posix.authorized_key: {{user: carol, key: 'ssh-ed25519 {b2}', "
        """key_options: 'no-pty,from="10.0.0.1,10.0.0.2"'}""",
        f"ansible.posix.authorized_key: {{user: carol, key: 'ssh-ed25519 {b4} four@x', "
        "comment: renamed}",
        f"ansible.posix.authorized_key: {{user: carol, key: 'ssh-ed25519 {b3}', "
        "path: /etc/ssh/keys/carol, manage_dir: false}",
        f"ansible.posix.mount: path=/srv src=/dev/sdb1 fstype=ext4 opts=noatime passno=2 "
        f"fstab={FSTAB} state=present",
        f"ansible.posix.mount: path='/mnt/a b' src=//nas/x fstype=cifs opts=ro "
        f"fstab={FSTAB} state=present",
        f"ansible.posix.mount: path=/ fstab={FSTAB} state=absent_from_fstab",
        "ansible.posix.mount: path=/data src=LABEL=data fstype=xfs boot=no dump=1 "
        "state=present fstab=/etc/fstab.new",
    ]


def files(fleet: DebianFleet, host: str) -> str:
    script = (
        "for f in /home/carol/.ssh/authorized_keys /etc/ssh/keys/carol "
        f"{FSTAB} /etc/fstab.new; do echo \"== $f\"; stat -c '%a %U' $f; cat $f; done; "
        "stat -c '%a %U' /home/carol/.ssh"
    )
    return fleet.check(host, ["sh", "-c", script])


def test_files_are_byte_identical_to_ansible_posix(
    fleet: DebianFleet, corral_project: CorralProject, tmp_path: Path
) -> None:
    blobs = [keygen(tmp_path / f"k{n}").split()[1] for n in range(4)]
    theirs_host, ours_host = (h.name for h in fleet.hosts)
    keys = f"# keys\nssh-ed25519 {blobs[1]} old\n\n\nssh-ed25519   {blobs[0]}  one@x\n# end\n"
    for host in fleet.hosts:
        fleet.write(host, FSTAB, START)
        fleet.write(host, "/home/carol/.ssh/authorized_keys", keys)
        fleet.check(host, ["mkdir", "-p", "/etc/ssh/keys"])
    items = tasks(blobs)
    first = ansible(tmp_path / "a1", fleet.inventory, play(theirs_host, items))
    assert "changed=7" in first, first
    assert "changed=0" in ansible(tmp_path / "a2", fleet.inventory, play(theirs_host, items))
    done = corral(corral_project, fleet.inventory, play(ours_host, items))
    assert statuses(done) == ["ok"] + ["changed"] * 7
    assert statuses(corral(corral_project, fleet.inventory, play(ours_host, items))) == (["ok"] * 8)
    assert files(fleet, ours_host) == files(fleet, theirs_host)
