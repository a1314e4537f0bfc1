"""The ready PostgreSQL, patch and certificate playbooks load, list their params and refuse
bad ones before any host is touched (no hosts needed: an inventory of names never reached)."""

from __future__ import annotations

import pytest
from pg_hosts import PLAYBOOKS

from corral.testing import CorralProject

INVENTORY = """
all:
  children:
    db: {hosts: {db1: {ansible_host: 192.0.2.1}}}
    scratch: {hosts: {scratch1: {ansible_host: 192.0.2.3}}}
  hosts:
    db2: {ansible_host: 192.0.2.2}
    backup1: {ansible_host: 192.0.2.4}
    lb1: {ansible_host: 192.0.2.5}
"""
REQUIRED = {
    "backup.yml": [],
    "restore-drill.yml": ["source=db1"],
    "dr-failover.yml": ["old_primary=db1", "new_primary=db2"],
    "dr-failback.yml": ["old_primary=db1", "current_primary=db2", "replication_password=x"],
    "os-patch.yml": [],
    "cert-renew.yml": ["certs=/etc/ssl/site.pem", "ca_cert=ca.crt", "ca_key=ca.key"],
}


def params(names: list[str]) -> list[str]:
    return [arg for name in names for arg in ("-p", name)]


@pytest.fixture
def project(corral_project: CorralProject) -> CorralProject:
    corral_project.env["CORRAL_STORE"] = "off"
    corral_project.write("inventory.yml", INVENTORY)
    return corral_project


@pytest.mark.parametrize("playbook", sorted(REQUIRED))
def test_the_playbook_loads_and_lists_its_params(project: CorralProject, playbook: str) -> None:
    path = str(PLAYBOOKS / playbook)
    checked = project.run("check", path, "-i", "inventory.yml", *params(REQUIRED[playbook]))
    assert checked.exit_code == 0, checked.output
    listed = project.run("run", "--help-params", path)
    assert listed.exit_code == 0, listed.output
    for name in REQUIRED[playbook]:
        assert f"  {name.split('=')[0]}  (" in listed.stdout


@pytest.mark.parametrize(
    ("playbook", "given", "message"),
    [
        ("restore-drill.yml", [], "source: required"),
        ("backup.yml", ["keep_count=0"], "keep_count: 0 is less than the minimum of 1"),
        ("dr-failover.yml", ["old_primary=db1", "new_primary=db2", "repoint=carrier"],
         "repoint: 'carrier' is not one of"),
        ("dr-failback.yml", ["old_primary=db1", "current_primary=db2"],
         "replication_password: required"),
        ("os-patch.yml", ["batch_size=0"], "batch_size: '0' does not match"),
        ("cert-renew.yml", ["certs=site.pem", "ca_cert=ca.crt", "ca_key=ca.key"],
         "certs: 'site.pem' does not match"),
        ("cert-renew.yml", ["certs=/etc/ssl/site.pem"], "ca_cert: required"),
    ],
)  # fmt: skip
def test_bad_params_are_refused_before_any_host_is_touched(
    project: CorralProject, playbook: str, given: list[str], message: str
) -> None:
    result = project.run("run", str(PLAYBOOKS / playbook), "-i", "inventory.yml", *params(given))
    assert result.exit_code == 4, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert "PLAY [" not in result.stdout
