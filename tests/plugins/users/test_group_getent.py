"""The ``group`` and ``getent`` steps on a real Debian host over SSH with become."""

from __future__ import annotations

import pytest
from debian_hosts import DebianFleet, FleetFactory
from users_play import play, results

from corral.testing import CorralProject


@pytest.fixture(scope="module")
def fleet(module_debian_fleet: FleetFactory) -> DebianFleet:
    return module_debian_fleet(1)


def group_entry(fleet: DebianFleet, name: str) -> list[str] | None:
    out = fleet.exec("deb1", ["getent", "group", name])
    return out.stdout.strip().split(":") if out.rc == 0 else None


def test_a_group_is_created_renumbered_and_removed(
    fleet: DebianFleet, corral_project: CorralProject
) -> None:
    create = "- {name: web, group: {name: web, gid: 3001}}"
    result, events = play(corral_project, fleet, create, "--check")
    result.assert_recap("deb1", changed=1)
    assert group_entry(fleet, "web") is None
    result, events = play(corral_project, fleet, create)
    result.assert_recap("deb1", changed=1)
    assert results(events, "web")[0] | {"name": "web"} == {
        "changed": True, "failed": False, "name": "web", "state": "present",
        "gid": 3001, "system": False,
    }  # fmt: skip
    assert group_entry(fleet, "web") == ["web", "x", "3001", ""]
    result, _ = play(corral_project, fleet, create)
    result.assert_recap("deb1", changed=0, ok=1)
    result, _ = play(corral_project, fleet, "- group: {name: web, gid: 3002}")
    result.assert_recap("deb1", changed=1)
    assert group_entry(fleet, "web") == ["web", "x", "3002", ""]
    result, _ = play(corral_project, fleet, "- group: {name: web, state: absent}")
    result.assert_recap("deb1", changed=1)
    assert group_entry(fleet, "web") is None
    result, _ = play(corral_project, fleet, "- group: {name: web, state: absent}")
    result.assert_recap("deb1", changed=0)


def test_a_system_group_gets_a_system_gid(
    fleet: DebianFleet, corral_project: CorralProject
) -> None:
    result, events = play(corral_project, fleet, "- group: {name: daemonish, system: true}")
    result.assert_recap("deb1", changed=1)
    assert events[0]["result"]["system"] is True
    entry = group_entry(fleet, "daemonish")
    assert entry is not None
    assert int(entry[2]) < 1000


def test_an_invalid_group_name_fails_clearly(
    fleet: DebianFleet, corral_project: CorralProject
) -> None:
    result, events = play(corral_project, fleet, "- group: {name: '-rf'}")
    assert result.exit_code != 0
    assert events[0]["result"]["msg"].startswith("name: '-rf' is not a valid group name")


def test_getent_sets_facts_as_ansible_does(
    fleet: DebianFleet, corral_project: CorralProject
) -> None:
    tasks = """
- getent: {database: passwd, key: deploy}
- getent: {database: group}
- name: missing
  getent: {database: passwd, key: nobody-here, fail_key: false}
- name: show
  debug:
    msg: "{{ [getent_passwd, getent_group['sudo'], getent_passwd['nobody-here']] }}"
- name: strict
  getent: {database: passwd, key: nobody-here}
"""
    result, events = play(corral_project, fleet, tasks)
    assert results(events, "show"), result.output
    shown = results(events, "show")[0]["msg"]
    assert shown[0] == {"nobody-here": None}  # the later lookup replaced the fact
    assert shown[1] == ["x", "27", "deploy"]
    assert shown[2] is None
    assert results(events, "missing")[0]["msg"].startswith("One or more supplied key")
    strict = results(events, "strict")[0]
    assert strict["failed"] is True
    assert strict["msg"] == "One or more supplied key could not be found in the database."
    assert result.exit_code != 0


def test_getent_splits_other_databases_on_whitespace(
    fleet: DebianFleet, corral_project: CorralProject
) -> None:
    tasks = """
- getent: {database: hosts, key: localhost}
- name: show
  debug: {var: getent_hosts}
"""
    result, events = play(corral_project, fleet, tasks, become=False)
    assert result.exit_code == 0, result.output
    hosts = results(events, "show")[0]["getent_hosts"]
    assert "::1" in hosts or "127.0.0.1" in hosts


def test_the_steps_work_over_the_docker_connection(
    fleet: DebianFleet, corral_project: CorralProject
) -> None:
    host = fleet.hosts[0]
    corral_project.write(
        "docker.ini",
        f"deb1 ansible_connection=docker ansible_host={host.container_id} "
        f"docker_host={fleet.daemon.url}\n",
    )
    tasks = """
- group: {name: viadocker, gid: 3300}
- user: {name: dockuser, group: viadocker}
- getent: {database: group, key: viadocker}
- name: show
  debug: {var: getent_group.viadocker}
"""
    body = "".join(f"    {line}\n" for line in tasks.strip("\n").splitlines())
    corral_project.write("d.yml", f"- hosts: all\n  gather_facts: false\n  tasks:\n{body}")
    run = ("run", "d.yml", "-i", "docker.ini", "--output", "json")
    result = corral_project.run(*run)
    result.assert_recap("deb1", changed=2, failed=0)
    shown = [e for e in result.json_lines() if e.get("event") == "task_result"][-1]
    assert shown["result"]["getent_group.viadocker"] == ["x", "3300", ""]
    assert fleet.check("deb1", ["id", "-gn", "dockuser"]).strip() == "viadocker"
    corral_project.run(*run).assert_recap("deb1", changed=0, failed=0)
