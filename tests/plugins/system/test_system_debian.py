"""sysctl, hostname, timezone, locale_gen, modprobe and debconf on real Debian hosts.

The hosts are containers (tests/debian_hosts.py) reached over SSH with become. What a
container may not do is tested as the failure a user sees: ``/proc/sys`` is read-only
(so sysctl values are read live, and the file is managed with ``reload: false``), the
kernel is the machine's (no module loads), and the running host name belongs to the
machine (the ``/etc/hostname`` strategy is what runs). ``hostname`` and ``debconf`` are
compared with ansible-playbook on a second host; the others live in collections that are
not installed here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from debian_hosts import DebianFleet, FleetFactory
from debrun import ansible, corral, play, read, statuses

from corral.testing import CorralProject


@pytest.fixture(scope="module")
def fleet(module_debian_fleet: FleetFactory) -> DebianFleet:
    return module_debian_fleet(2, prefix="sys")


# -- sysctl ----------------------------------------------------------------------------------


def test_sysctl_file_is_edited_as_ansible_edits_it(
    fleet: DebianFleet, corral_project: CorralProject
) -> None:
    host = fleet.hosts[0].name
    path = "/etc/sysctl.d/60-corral.conf"
    fleet.write(host, path, "# tuned\nvm.swappiness = 60\nnet.core.somaxconn=128\n")
    tasks = (
        f"sysctl: name=vm.swappiness value=10 sysctl_file={path} reload=no",
        f"ansible.posix.sysctl: key=fs.file-max val=100000 sysctl_file={path} reload=no",
        f"sysctl: name=net.core.somaxconn state=absent sysctl_file={path} reload=no",
    )
    checked = corral(corral_project, fleet.inventory, play(host, *tasks), "--check", "--diff")
    assert statuses(checked) == ["changed"] * 3
    assert checked[0]["result"]["diff"]["after"] == (
        "# tuned\nvm.swappiness=10\nnet.core.somaxconn=128\n"
    )
    assert read(fleet, host, path) == "# tuned\nvm.swappiness = 60\nnet.core.somaxconn=128\n"
    assert statuses(corral(corral_project, fleet.inventory, play(host, *tasks))) == ["changed"] * 3
    assert read(fleet, host, path) == "# tuned\nvm.swappiness=10\nfs.file-max=100000\n"
    assert statuses(corral(corral_project, fleet.inventory, play(host, *tasks))) == ["ok"] * 3


def test_sysctl_compares_the_live_value(fleet: DebianFleet, corral_project: CorralProject) -> None:
    host = fleet.hosts[0].name
    live = fleet.check(host, ["sysctl", "-n", "net.core.somaxconn"]).strip()
    path = "/etc/sysctl.d/61-live.conf"
    fleet.write(host, path, f"net.core.somaxconn={live}\n")
    # The file and the kernel agree: nothing to do, even with sysctl_set and reload.
    same = f"sysctl: name=net.core.somaxconn value={live} sysctl_file={path} sysctl_set=yes"
    assert statuses(corral(corral_project, fleet.inventory, play(host, same))) == ["ok"]
    # The file is right but the kernel differs: reload is needed, and in a container
    # /proc/sys is read-only, so it fails with sysctl's own reason.
    other = int(live) + 1
    fleet.write(host, path, f"net.core.somaxconn={other}\n")
    out = corral(
        corral_project,
        fleet.inventory,
        play(host, f"sysctl: name=net.core.somaxconn value={other} sysctl_file={path}"),
    )
    assert out[0]["status"] == "failed"
    assert out[0]["result"]["msg"].startswith("Failed to reload sysctl:")
    assert "net.core.somaxconn" in out[0]["result"]["msg"]
    assert fleet.check(host, ["sysctl", "-n", "net.core.somaxconn"]).strip() == live


def test_sysctl_ignoreerrors_skips_unknown_keys(
    fleet: DebianFleet, corral_project: CorralProject
) -> None:
    host = fleet.hosts[0].name
    path = "/etc/sysctl.d/62-unknown.conf"
    task = f"sysctl: name=corral.no.such.key value=1 sysctl_file={path}"
    refused = corral(corral_project, fleet.inventory, play(host, task))
    assert refused[0]["status"] == "failed"
    assert "corral/no/such/key" in refused[0]["result"]["msg"]
    fleet.exec(host, ["rm", "-f", path])
    ignored = corral(corral_project, fleet.inventory, play(host, task + " ignoreerrors=yes"))
    assert statuses(ignored) == ["changed"]
    assert read(fleet, host, path) == "corral.no.such.key=1\n"


def test_sysctl_without_a_value_names_it(fleet: DebianFleet, corral_project: CorralProject) -> None:
    out = corral(corral_project, fleet.inventory, play(fleet.hosts[0].name, "sysctl: name=vm.x"))
    assert out[0]["status"] == "failed"
    assert "value" in out[0]["result"]["msg"]


# -- hostname --------------------------------------------------------------------------------


def test_hostname_writes_etc_hostname_like_ansible(
    fleet: DebianFleet, corral_project: CorralProject, tmp_path: Path
) -> None:
    mine, theirs = fleet.hosts[0].name, fleet.hosts[1].name
    task = "hostname: name=web01.example.org"
    checked = corral(corral_project, fleet.inventory, play(mine, task), "--check")
    assert checked[0]["status"] == "changed"
    original = read(fleet, mine, "/etc/hostname")
    assert "web01" not in original
    out = corral(
        corral_project,
        fleet.inventory,
        play(mine, task + "\n      register: h", 'debug: msg="{{ ansible_hostname }}"'),
    )
    assert statuses(out) == ["changed", "ok"]
    assert out[0]["result"]["name"] == "web01.example.org"
    assert out[0]["result"]["ansible_facts"]["hostname"] == "web01"
    assert out[1]["result"]["msg"] == "web01"
    assert statuses(corral(corral_project, fleet.inventory, play(mine, task))) == ["ok"]
    ansible(tmp_path / "ansible", fleet.inventory, play(theirs, task))
    assert read(fleet, mine, "/etc/hostname") == read(fleet, theirs, "/etc/hostname")
    assert read(fleet, mine, "/etc/hostname") == "web01.example.org\n"


# -- timezone --------------------------------------------------------------------------------


def test_timezone_without_systemd(fleet: DebianFleet, corral_project: CorralProject) -> None:
    host = fleet.hosts[0].name
    task = "community.general.timezone: name=Europe/Paris"
    checked = corral(corral_project, fleet.inventory, play(host, task), "--check", "--diff")
    assert checked[0]["status"] == "changed"
    assert checked[0]["result"]["diff"] == {
        "before": {"name": "Etc/UTC"},
        "after": {"name": "Europe/Paris"},
    }
    assert read(fleet, host, "/etc/timezone") == "Etc/UTC\n"
    assert statuses(corral(corral_project, fleet.inventory, play(host, task))) == ["changed"]
    assert read(fleet, host, "/etc/timezone") == "Europe/Paris\n"
    link = fleet.check(host, ["readlink", "/etc/localtime"]).strip()
    assert link == "/usr/share/zoneinfo/Europe/Paris"
    assert fleet.check(host, ["date", "+%Z", "-d", "2024-01-15"]).strip() == "CET"
    assert statuses(corral(corral_project, fleet.inventory, play(host, task))) == ["ok"]
    bad = corral(corral_project, fleet.inventory, play(host, "timezone: name=Mars/Olympus"))
    assert bad[0]["status"] == "failed"
    assert bad[0]["result"]["msg"] == 'name: given timezone "Mars/Olympus" is not available'


def test_timezone_with_systemd(debian_fleet: FleetFactory, corral_project: CorralProject) -> None:
    fleet = debian_fleet(1, systemd=True, prefix="tz")
    host = fleet.hosts[0].name
    task = "timezone: name=America/New_York"
    assert statuses(corral(corral_project, fleet.inventory, play(host, task))) == ["changed"]
    shown = fleet.check(host, ["timedatectl", "show", "--property=Timezone", "--value"])
    assert shown.strip() == "America/New_York"
    assert statuses(corral(corral_project, fleet.inventory, play(host, task))) == ["ok"]


# -- locale_gen ------------------------------------------------------------------------------


def test_locale_gen_compiles_and_removes(fleet: DebianFleet, corral_project: CorralProject) -> None:
    host = fleet.hosts[0].name
    task = "community.general.locale_gen: name=de_DE.UTF-8"
    checked = corral(corral_project, fleet.inventory, play(host, task), "--check")
    assert checked[0]["status"] == "changed"
    assert "de_DE.utf8" not in fleet.check(host, ["locale", "-a"])
    assert statuses(corral(corral_project, fleet.inventory, play(host, task))) == ["changed"]
    assert "de_DE.utf8" in fleet.check(host, ["locale", "-a"])
    assert "\nde_DE.UTF-8 UTF-8\n" in read(fleet, host, "/etc/locale.gen")
    assert statuses(corral(corral_project, fleet.inventory, play(host, task))) == ["ok"]
    gone = corral(corral_project, fleet.inventory, play(host, task + " state=absent"))
    assert statuses(gone) == ["changed"]
    assert "de_DE.utf8" not in fleet.check(host, ["locale", "-a"])
    assert "en_US.utf8" in fleet.check(host, ["locale", "-a"])
    bad = corral(corral_project, fleet.inventory, play(host, "locale_gen: name=xx_YY.UTF-8"))
    assert bad[0]["status"] == "failed"
    assert "xx_YY.UTF-8" in bad[0]["result"]["msg"]


# -- modprobe --------------------------------------------------------------------------------


def test_modprobe_in_a_container(fleet: DebianFleet, corral_project: CorralProject) -> None:
    host = fleet.hosts[0].name
    # Loading needs the kernel's modules, which a container has not got: a clear failure.
    load = corral(corral_project, fleet.inventory, play(host, "modprobe: name=dummy"))
    assert load[0]["status"] == "failed"
    assert load[0]["result"]["msg"].startswith("modprobe failed: ")
    assert "dummy" in load[0]["result"]["msg"]
    # The boot-time files are managed all the same.
    task = (
        "community.general.modprobe: name=dummy state=absent persistent=present params=numdummies=2"
    )
    assert statuses(corral(corral_project, fleet.inventory, play(host, task))) == ["changed"]
    assert read(fleet, host, "/etc/modules-load.d/dummy.conf") == "dummy\n"
    assert read(fleet, host, "/etc/modprobe.d/dummy.conf") == "options dummy numdummies=2\n"
    assert statuses(corral(corral_project, fleet.inventory, play(host, task))) == ["ok"]
    remove = "modprobe: name=dummy state=absent persistent=absent"
    assert statuses(corral(corral_project, fleet.inventory, play(host, remove))) == ["changed"]
    assert read(fleet, host, "/etc/modules-load.d/dummy.conf") == "MISSING\n"


# -- debconf ---------------------------------------------------------------------------------


def test_debconf_sets_answers_like_ansible(
    fleet: DebianFleet, corral_project: CorralProject, tmp_path: Path
) -> None:
    mine, theirs = fleet.hosts[0].name, fleet.hosts[1].name
    tasks = (
        "debconf: name=tzdata question=tzdata/Areas vtype=select value=Europe",
        "debconf: name=tzdata question=tzdata/Zones/Europe vtype=select value=Berlin unseen=yes",
        "debconf: name=locales question=locales/default_environment_locale vtype=select "
        "value=en_US.UTF-8",
    )
    checked = corral(corral_project, fleet.inventory, play(mine, *tasks), "--check", "--diff")
    assert statuses(checked) == ["changed"] * 3
    assert checked[0]["result"]["diff"] == {
        "before": {"tzdata/Areas": "Etc"},
        "after": {"tzdata/Areas": "Europe"},
    }
    first = corral(corral_project, fleet.inventory, play(mine, *tasks))
    assert statuses(first) == ["changed"] * 3
    assert first[0]["result"]["previous"] == {"tzdata/Areas": "Etc"}
    assert statuses(corral(corral_project, fleet.inventory, play(mine, *tasks))) == ["ok"] * 3
    ansible(tmp_path / "ansible", fleet.inventory, play(theirs, *tasks))

    def answers(host: str) -> str:
        return fleet.check(host, ["sh", "-c", "debconf-show tzdata locales | sort"])

    assert answers(mine) == answers(theirs)
    assert "* tzdata/Areas: Europe" in answers(mine)
    assert "  tzdata/Zones/Europe: Berlin" in answers(mine)  # unseen: no star


def test_debconf_password_is_compared_without_showing_it(
    fleet: DebianFleet, corral_project: CorralProject
) -> None:
    host = fleet.hosts[0].name
    task = "debconf: name=corral-test question=corral-test/secret vtype=password value=s3cret"
    assert statuses(corral(corral_project, fleet.inventory, play(host, task))) == ["changed"]
    assert statuses(corral(corral_project, fleet.inventory, play(host, task))) == ["ok"]
    other = task.replace("s3cret", "other")
    assert statuses(corral(corral_project, fleet.inventory, play(host, other))) == ["changed"]
