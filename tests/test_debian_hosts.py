"""The Debian test hosts: corral reaches them over SSH; apt installs from the test repository."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aptrepo import Package, build_repo
from debian_hosts import FleetFactory

from corral.testing import CorralProject

PLAYBOOK = """
- hosts: debian
  gather_facts: true
  tasks:
    - name: who
      command: id -un
      become: true
      register: who
    - name: facts
      debug:
        msg: "{{ {'user': who.stdout, 'distribution': ansible_distribution,
                 'pkg_mgr': ansible_pkg_mgr, 'service_mgr': ansible_service_mgr,
                 'version': ansible_distribution_major_version} | to_json }}"
"""


def facts(project: CorralProject, inventory: Path) -> dict[str, dict[str, Any]]:
    project.write("site.yml", PLAYBOOK)
    result = project.run("run", "site.yml", "-i", str(inventory), "--output", "json")
    assert result.exit_code == 0, result.output
    return {
        event["host"]: json.loads(event["result"]["msg"])
        for event in result.json_lines()
        if event.get("event") == "task_result" and event.get("task") == "facts"
    }


def test_corral_runs_a_playbook_on_three_debian_hosts_over_ssh(
    debian_fleet: FleetFactory, corral_project: CorralProject
) -> None:
    fleet = debian_fleet(3)
    found = facts(corral_project, fleet.inventory)
    assert set(found) == {"deb1", "deb2", "deb3"}
    for host in found.values():
        assert host["user"] == "root"  # become through sudo as deploy
        assert host["distribution"] == "Debian"
        assert host["version"] == "12"
        assert host["pkg_mgr"] == "apt"
    # Each host is its own container.
    ids = {fleet.check(h, ["cat", "/proc/1/cgroup"]) for h in fleet.hosts}
    assert len(ids) == 3


def test_systemd_hosts_report_systemd_as_service_manager(
    debian_fleet: FleetFactory, corral_project: CorralProject
) -> None:
    fleet = debian_fleet(1, systemd=True)
    found = facts(corral_project, fleet.inventory)
    assert found["deb1"]["service_mgr"] == "systemd"
    assert fleet.check("deb1", ["systemctl", "is-active", "ssh"]).strip() == "active"
    assert fleet.check("deb1", ["cat", "/proc/1/comm"]).strip() == "systemd"


def test_a_package_from_the_test_repository_installs_with_apt(
    debian_fleet: FleetFactory, tmp_path: Path
) -> None:
    repo = build_repo(
        tmp_path / "repo",
        [
            Package("corral-base", files={"/usr/share/corral-base/README": "base\n"}),
            Package(
                "corral-hello",
                "2.1",
                depends=["corral-base"],
                files={
                    "/usr/bin/corral-hello": "#!/bin/sh\necho hello\n",
                    "/etc/corral-hello.conf": "greeting=hello\n",
                },
                postinst="#!/bin/sh\necho done > /var/lib/corral-hello\n",
                conffiles=["/etc/corral-hello.conf"],
            ),
        ],
    )
    assert (repo / "Packages").read_text().count("Package:") == 2
    fleet = debian_fleet(1, repo=repo)
    fleet.check("deb1", ["apt-get", "update", "-q"])
    fleet.check("deb1", ["apt-get", "install", "-y", "-q", "corral-hello"])
    assert fleet.check("deb1", ["corral-hello"]) == "hello\n"
    assert fleet.check("deb1", ["cat", "/var/lib/corral-hello"]) == "done\n"
    status = fleet.check("deb1", ["dpkg-query", "-W", "corral-hello", "corral-base"])
    assert status.split() == ["corral-base", "1.0", "corral-hello", "2.1"]


def test_the_services_image_has_postgresql_without_a_cluster_and_haproxy(
    debian_fleet: FleetFactory,
) -> None:
    fleet = debian_fleet(1, image="services", prefix="svc")
    # The package's own cluster was dropped: tests make theirs on the port they need.
    assert fleet.check("svc1", ["pg_lsclusters", "--no-header"]).strip() == ""
    assert "PostgreSQL) 15." in fleet.check("svc1", ["/usr/lib/postgresql/15/bin/postgres", "-V"])
    assert fleet.check("svc1", ["haproxy", "-v"]).startswith("HAProxy version 2.")
    fleet.check("svc1", ["python3", "-c", "import psycopg2"])
    fleet.check("svc1", ["sh", "-c", "command -v rsync openssl psql pg_basebackup"])
    # The base image is unchanged: the services image is a second tag.
    assert fleet.image.startswith("corral-test/debian:bookworm-services-")
