"""``mount`` on real Debian hosts over SSH with become.

ansible.posix (where Ansible keeps the module) is not installed here: the fstab lines are
checked against the format its source writes (``SRC PATH TYPE OPTS DUMP PASSNO``, single
spaces, unchanged entries untouched). An unprivileged container may not mount, which is
tested as the failure a user sees (and the fstab put back); a container given
CAP_SYS_ADMIN mounts a ``tmpfs`` for real.
"""

from __future__ import annotations

import pytest
from debian_hosts import DebianFleet, FleetFactory
from debrun import corral, play, read, statuses

from corral.testing import CorralProject

FSTAB = (
    "# /etc/fstab\nUUID=1234 / ext4 errors=remount-ro 0 1\n"
    "/dev/sdb1   /srv   ext4   defaults   0   2\n"
)


@pytest.fixture(scope="module")
def fleet(module_debian_fleet: FleetFactory) -> DebianFleet:
    return module_debian_fleet(1, prefix="mnt")


def test_fstab_entries_present_and_absent(
    fleet: DebianFleet, corral_project: CorralProject
) -> None:
    host = fleet.hosts[0].name
    path = "/etc/fstab.test"
    fleet.write(host, path, FSTAB)
    tasks = (
        f"ansible.posix.mount: path=/srv src=/dev/sdb1 fstype=ext4 opts=noatime passno=2 "
        f"fstab={path} state=present",
        f"mount: path='/mnt/my data' src=//nas/share fstype=cifs opts=ro,guest "
        f"fstab={path} state=present backup=yes",
        f"mount: path=/ fstab={path} state=absent_from_fstab",
    )
    checked = corral(corral_project, fleet.inventory, play(host, *tasks), "--check")
    assert statuses(checked) == ["changed"] * 3
    assert read(fleet, host, path) == FSTAB
    done = corral(corral_project, fleet.inventory, play(host, *tasks))
    assert statuses(done) == ["changed"] * 3
    assert read(fleet, host, path) == (
        "# /etc/fstab\n"
        "/dev/sdb1 /srv ext4 noatime 0 2\n"
        "//nas/share /mnt/my\\040data cifs ro,guest 0 0\n"
    )
    result = done[1]["result"]
    assert result["name"] == "/mnt/my data"
    assert result["dump"] == "0"
    assert result["boot"] == "yes"
    assert result["backup_file"].startswith(f"{path}.")
    assert read(fleet, host, result["backup_file"]).startswith("# /etc/fstab\nUUID=1234")
    assert statuses(corral(corral_project, fleet.inventory, play(host, *tasks))) == ["ok"] * 3

    gone = corral(
        corral_project,
        fleet.inventory,
        play(host, f"mount: path='/mnt/my data' fstab={path} state=absent"),
    )
    assert statuses(gone) == ["changed"]
    assert read(fleet, host, path) == "# /etc/fstab\n/dev/sdb1 /srv ext4 noatime 0 2\n"


def test_mounted_fails_clearly_where_mount_is_refused(
    fleet: DebianFleet, corral_project: CorralProject
) -> None:
    host = fleet.hosts[0].name
    path = "/etc/fstab.refused"
    fleet.write(host, path, "# empty\n")
    task = (
        f"mount: path=/mnt/scratch/a src=tmpfs fstype=tmpfs opts=size=1m fstab={path} state=mounted"
    )
    events = corral(corral_project, fleet.inventory, play(host, task))
    assert statuses(events) == ["failed"]
    msg = events[0]["result"]["msg"]
    assert msg.startswith("Error mounting /mnt/scratch/a: ")
    assert "permission denied" in msg.lower() or "must be superuser" in msg.lower()
    assert read(fleet, host, path) == "# empty\n"  # put back
    assert fleet.exec(host, ["test", "-e", "/mnt/scratch"]).rc != 0  # made dirs removed


def test_tmpfs_is_mounted_and_unmounted_with_sys_admin(
    debian_fleet: FleetFactory, corral_project: CorralProject
) -> None:
    fleet = debian_fleet(
        1,
        prefix="mntc",
        docker_options={"cap_add": ["SYS_ADMIN"], "security_opt": ["apparmor=unconfined"]},
    )
    host = fleet.hosts[0].name
    mounted = "mount: path=/mnt/tmp src=tmpfs fstype=tmpfs opts=size=2m state=mounted"
    checked = corral(corral_project, fleet.inventory, play(host, mounted), "--check")
    assert statuses(checked) == ["changed"]
    assert fleet.exec(host, ["mountpoint", "-q", "/mnt/tmp"]).rc != 0
    assert statuses(corral(corral_project, fleet.inventory, play(host, mounted))) == ["changed"]
    assert fleet.exec(host, ["mountpoint", "-q", "/mnt/tmp"]).rc == 0
    assert "tmpfs /mnt/tmp tmpfs size=2m 0 0\n" in read(fleet, host, "/etc/fstab")
    assert statuses(corral(corral_project, fleet.inventory, play(host, mounted))) == ["ok"]
    unmounted = "mount: path=/mnt/tmp state=unmounted"
    assert statuses(corral(corral_project, fleet.inventory, play(host, unmounted))) == ["changed"]
    assert fleet.exec(host, ["mountpoint", "-q", "/mnt/tmp"]).rc != 0
    assert statuses(corral(corral_project, fleet.inventory, play(host, unmounted))) == ["ok"]
    absent = "mount: path=/mnt/tmp state=absent"
    assert statuses(corral(corral_project, fleet.inventory, play(host, absent))) == ["changed"]
    assert "/mnt/tmp" not in read(fleet, host, "/etc/fstab")
    assert fleet.exec(host, ["test", "-e", "/mnt/tmp"]).rc != 0
    ephemeral = "mount: path=/mnt/eph src=tmpfs fstype=tmpfs opts=size=1m state=ephemeral"
    fstab = read(fleet, host, "/etc/fstab")
    assert statuses(corral(corral_project, fleet.inventory, play(host, ephemeral))) == ["changed"]
    assert fleet.exec(host, ["mountpoint", "-q", "/mnt/eph"]).rc == 0
    assert read(fleet, host, "/etc/fstab") == fstab
    other = "mount: path=/mnt/eph src=/dev/null fstype=tmpfs state=ephemeral"
    refused = corral(corral_project, fleet.inventory, play(host, other))
    assert statuses(refused) == ["failed"]
    assert "different source" in refused[0]["result"]["msg"]
