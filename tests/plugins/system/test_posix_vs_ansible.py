"""Differential: ``authorized_key`` and ``mount`` (fstab) against ansible.posix's modules.

ansible.posix is not part of ansible-core; these tests run where ansible-playbook can load
it (installed beside ansible-core, or a directory named by ``ANSIBLE_COLLECTIONS_PATH``,
e.g. ``ansible_collections/ansible/posix`` taken from the ``ansible`` package's wheel), and
are skipped elsewhere: the files are then checked against the format by hand in
test_mount_debian.py and tests/plugins/users/test_authorized_key_debian.py. The same play
runs with ansible-playbook on one Debian host and with corral on the other, twice each;
the files must be byte-identical and the second runs must change nothing.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from debian_hosts import DebianFleet, FleetFactory
from debrun import BIN, ansible, corral, statuses
from sshd import keygen

from corral.testing import CorralProject

FSTAB = "/etc/fstab.diff"
START = "# test\nUUID=1 / ext4 errors=remount-ro 0 1\n/dev/sdb1\t/srv  ext4 defaults 0 2\n"


def _posix_available() -> bool:
    done = subprocess.run(
        [str(BIN / "ansible-doc"), "-j", "-t", "module", "ansible.posix.mount"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    # ansible-doc exits 0 with "{}" for a module it cannot find.
    return done.returncode == 0 and "ansible.posix.mount" in done.stdout


pytestmark = pytest.mark.skipif(not _posix_available(), reason="ansible.posix not installed")


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
