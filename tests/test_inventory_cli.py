"""``corral inventory`` through the real command line: actions, formats, defaults, plugins."""

from __future__ import annotations

import json

import yaml

from corral import InventorySourceType, hookimpl
from corral.inventory.model import as_inventory
from corral.testing import CorralProject

HOSTS = """\
solo ansible_host=10.0.0.9
[web]
web[1:2] ansible_user=deploy
[db]
db1
[prod:children]
web
db
[prod:vars]
env=prod
"""


def project_with_hosts(corral_project: CorralProject) -> CorralProject:
    corral_project.write("hosts.ini", HOSTS)
    return corral_project


def test_list_prints_ansible_inventory_json(corral_project: CorralProject) -> None:
    result = project_with_hosts(corral_project).run("inventory", "-i", "hosts.ini", "--list")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "_meta": {
            "hostvars": {
                "solo": {"ansible_host": "10.0.0.9"},
                "web1": {"ansible_user": "deploy", "env": "prod"},
                "web2": {"ansible_user": "deploy", "env": "prod"},
                "db1": {"env": "prod"},
            },
            "profile": "inventory_legacy",
        },
        "all": {"children": ["ungrouped", "prod"]},
        "ungrouped": {"hosts": ["solo"]},
        "prod": {"children": ["web", "db"]},
        "web": {"hosts": ["web1", "web2"]},
        "db": {"hosts": ["db1"]},
    }


def test_host_prints_one_hosts_variables(corral_project: CorralProject) -> None:
    result = project_with_hosts(corral_project).run(
        "inventory", "-i", "hosts.ini", "--host", "web2"
    )
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"ansible_user": "deploy", "env": "prod"}


def test_graph_prints_the_tree(corral_project: CorralProject) -> None:
    project = project_with_hosts(corral_project)
    result = project.run("inventory", "-i", "hosts.ini", "--graph")
    assert result.stdout.splitlines() == [
        "@all:",
        "  |--@ungrouped:",
        "  |  |--solo",
        "  |--@prod:",
        "  |  |--@web:",
        "  |  |  |--web1",
        "  |  |  |--web2",
        "  |  |--@db:",
        "  |  |  |--db1",
    ]
    result = project.run("inventory", "-i", "hosts.ini", "--graph", "db", "--vars")
    assert result.stdout.splitlines() == ["@db:", "  |--db1", "  |  |--{env = prod}"]


def test_yaml_output_for_list_and_host(corral_project: CorralProject) -> None:
    project = project_with_hosts(corral_project)
    listed = yaml.safe_load(project.run("inventory", "-i", "hosts.ini", "--list", "--yaml").stdout)
    assert listed["all"]["children"]["prod"]["children"]["web"]["hosts"]["web1"] == {
        "ansible_user": "deploy",
        "env": "prod",
    }
    host = project.run("inventory", "-i", "hosts.ini", "--host", "solo", "-y")
    assert host.stdout == "ansible_host: 10.0.0.9\n"


def test_limit_and_output_file(corral_project: CorralProject) -> None:
    project = project_with_hosts(corral_project)
    project.write("only.txt", "web2\nsolo\n")
    result = project.run(
        "inventory", "-i", "hosts.ini", "--list", "--limit", "@only.txt", "--output", "out.json"
    )
    assert (result.exit_code, result.stdout) == (0, "")
    listed = json.loads((project.path / "out.json").read_text())
    assert sorted(listed["_meta"]["hostvars"]) == ["solo", "web2"]
    assert listed["web"] == {"hosts": ["web2"]}
    assert "db" not in listed


def test_playbook_dir_adds_its_group_vars(corral_project: CorralProject) -> None:
    project = project_with_hosts(corral_project)
    project.write("site/group_vars/web.yml", "tier: frontend\n")
    result = project.run("inventory", "-i", "hosts.ini", "--host", "web1", "--playbook-dir", "site")
    assert json.loads(result.stdout)["tier"] == "frontend"


def test_default_is_the_inventory_directory(corral_project: CorralProject) -> None:
    corral_project.write("inventory/hosts.ini", "[web]\nw1\n")
    result = corral_project.run("inventory", "--graph", "web")
    assert result.stdout.splitlines() == ["@web:", "  |--w1"]


def test_corral_inventory_variable_wins_over_the_directory(corral_project: CorralProject) -> None:
    corral_project.write("inventory/hosts.ini", "[web]\nw1\n")
    corral_project.write("other.ini", "[db]\nd1\n")
    result = corral_project.run(
        "inventory",
        "--graph",
        "db",
        env={"CORRAL_INVENTORY": str(corral_project.path / "other.ini")},
    )
    assert result.stdout.splitlines() == ["@db:", "  |--d1"]


def test_no_inventory_warns_and_lists_nothing(corral_project: CorralProject) -> None:
    result = corral_project.run("inventory", "--list")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["all"] == {"children": ["ungrouped"]}
    assert "only the implicit localhost is available" in result.stderr
    localhost = corral_project.run("inventory", "--host", "localhost")
    assert json.loads(localhost.stdout)["ansible_connection"] == "local"


def test_exactly_one_action_is_required(corral_project: CorralProject) -> None:
    project = project_with_hosts(corral_project)
    none = project.run("inventory", "-i", "hosts.ini")
    assert none.exit_code == 5
    assert none.stderr.splitlines()[0] == "error: give exactly one of --list, --host or --graph"
    both = project.run("inventory", "-i", "hosts.ini", "--list", "--host", "db1")
    assert both.exit_code == 5
    assert "(got --list, --host)" in both.stderr


def test_host_must_name_exactly_one_host(corral_project: CorralProject) -> None:
    project = project_with_hosts(corral_project)
    result = project.run("inventory", "-i", "hosts.ini", "--host", "web3")
    assert result.exit_code == 5
    assert result.stderr.splitlines() == [
        "error: --host needs exactly one host; 'web3' matches none",
        "hint: did you mean 'web2', 'web1'?",
    ]
    assert project.run("inventory", "-i", "hosts.ini", "--host", "web*").exit_code == 5


def test_graph_of_an_unknown_group_is_a_usage_error(corral_project: CorralProject) -> None:
    result = project_with_hosts(corral_project).run("inventory", "-i", "hosts.ini", "--graph", "x")
    assert result.exit_code == 5
    assert result.stderr.startswith("error: --graph needs a group name; 'x' is not a group")


class CloudInventory:
    """A plugin registering an inventory source for ``cloud://`` sources."""

    @hookimpl
    def corral_register_inventory_sources(self, register):  # type: ignore[no-untyped-def]
        def parse(source: str, builder: object) -> None:
            inventory = as_inventory(builder)
            inventory.add_group("cloud")
            for name in source.removeprefix("cloud://").split("+"):
                inventory.add_host(name, "cloud")
                inventory.set_variable(name, "provider", "cloud")

        register(
            InventorySourceType(
                name="cloud", verify=lambda s: s.startswith("cloud://"), parse=parse
            )
        )


def test_hook_registered_sources_are_used(corral_project: CorralProject) -> None:
    corral_project.plugins.append(CloudInventory())
    result = corral_project.run("inventory", "-i", "cloud://vm1+vm2", "--list")
    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)
    assert listed["cloud"] == {"hosts": ["vm1", "vm2"]}
    assert listed["_meta"]["hostvars"]["vm2"] == {"provider": "cloud"}


def test_installed_command_runs(corral_project: CorralProject) -> None:
    project = project_with_hosts(corral_project)
    result = project.run_subprocess("inventory", "-i", "hosts.ini", "--host", "solo")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {"ansible_host": "10.0.0.9"}
    bad = project.write("bad.ini", "[web]\nweb[9:1]\n")
    failed = project.run_subprocess("inventory", "-i", str(bad), "--list")
    assert failed.exit_code == 4
    assert failed.stderr.startswith(f"error: {bad}:2: bad host range in 'web[9:1]'")
