"""The system steps over the docker connection, on a Debian container (no SSH involved)."""

from __future__ import annotations

from debian_hosts import FleetFactory
from debrun import corral, statuses

from corral.testing import CorralProject

PLAY = """
- hosts: all
  gather_facts: false
  tasks:
    - cron: name=tick minute=*/10 job=/usr/bin/true
    - sysctl: name=vm.swappiness value=5 sysctl_file=/etc/sysctl.d/70-docker.conf reload=no
    - timezone: name=Asia/Tokyo
    - debconf: name=tzdata question=tzdata/Areas vtype=select value=Asia
    - locale_gen: name=fr_FR.UTF-8
"""


def test_system_steps_over_the_docker_connection(
    debian_fleet: FleetFactory, corral_project: CorralProject
) -> None:
    fleet = debian_fleet(1, prefix="dock")
    host = fleet.hosts[0]
    corral_project.write(
        "docker.ini",
        f"box ansible_connection=docker ansible_host={host.container_id} "
        f"docker_host={fleet.daemon.url}\n",
    )
    inventory = corral_project.path / "docker.ini"
    assert statuses(corral(corral_project, inventory, PLAY)) == ["changed"] * 5
    assert statuses(corral(corral_project, inventory, PLAY)) == ["ok"] * 5
    assert fleet.check(host, ["crontab", "-l"]) == "#Ansible: tick\n*/10 * * * * /usr/bin/true\n"
    assert fleet.check(host, ["cat", "/etc/sysctl.d/70-docker.conf"]) == "vm.swappiness=5\n"
    assert fleet.check(host, ["cat", "/etc/timezone"]) == "Asia/Tokyo\n"
    assert "fr_FR.utf8" in fleet.check(host, ["locale", "-a"])
