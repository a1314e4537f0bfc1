"""The inventory API the engine uses: load_inventory, host_vars, groups_mapping, sources."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from corral.errors import InventoryError
from corral.inventory import Inventory, InventorySourceType, load_inventory
from corral.inventory.model import as_inventory
from corral_plugins.inventory import SOURCES


def load(
    sources: list[str], *, plugin_sources: Sequence[InventorySourceType] = SOURCES, **kwargs: Any
) -> Inventory:
    """``load_inventory`` with corral's built-in readers, as the CLI's registry gives them."""
    return load_inventory(sources, plugin_sources=plugin_sources, **kwargs)


def write(root: Path, name: str, text: str) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def test_ini_groups_hosts_and_children(tmp_path: Path) -> None:
    write(
        tmp_path,
        "hosts.ini",
        """
        loose
        [web]
        web[01:03]
        [db]
        db1
        web02
        [prod:children]
        web
        db
        """,
    )
    inventory = load(["hosts.ini"], cwd=tmp_path)
    assert inventory.hosts == ["loose", "web01", "web02", "web03", "db1"]
    assert inventory.groups["prod"].children == ["web", "db"]
    assert inventory.groups["web"].hosts == ["web01", "web02", "web03"]
    assert inventory.groups_mapping() == {
        "all": ["loose", "web01", "web02", "web03", "db1"],
        "ungrouped": ["loose"],
        "web": ["web01", "web02", "web03"],
        "db": ["db1", "web02"],
        "prod": ["web01", "web02", "web03", "db1"],
    }
    assert inventory.host_groups("web02") == ["db", "prod", "web"]


def test_host_vars_follow_ansible_precedence(tmp_path: Path) -> None:
    write(
        tmp_path,
        "inv/hosts.ini",
        """
        [all:vars]
        a=all
        b=all
        c=all
        f=all
        [parent:children]
        child
        [parent:vars]
        a=parent
        b=parent
        [child]
        h1 c=host
        [child:vars]
        a=child
        """,
    )
    write(tmp_path, "inv/group_vars/all.yml", "f: all_file\nb: all_file\n")
    write(tmp_path, "inv/host_vars/h1.yml", "c: host_file\n")
    variables = load(["inv/hosts.ini"], cwd=tmp_path).host_vars("h1")
    # Inventory group vars < group_vars files < host vars, each in depth order.
    assert variables["a"] == "child"
    assert variables["b"] == "all_file"  # any group_vars file beats inventory group vars
    assert variables["f"] == "all_file"
    assert variables["c"] == "host_file"
    assert variables["inventory_hostname"] == "h1"
    assert variables["inventory_hostname_short"] == "h1"
    assert variables["group_names"] == ["child", "parent"]
    assert variables["inventory_file"] == str(tmp_path / "inv" / "hosts.ini")


def test_same_depth_groups_merge_by_name_unless_priority(tmp_path: Path) -> None:
    write(
        tmp_path,
        "hosts.yml",
        """
        b_group: {hosts: {h1: }, vars: {x: b}}
        a_group: {hosts: {h1: }, vars: {x: a}}
        c_group: {hosts: {h2: }, vars: {x: c, ansible_group_priority: 5}}
        z_group: {hosts: {h2: }, vars: {x: z}}
        """,
    )
    inventory = load(["hosts.yml"], cwd=tmp_path)
    assert inventory.host_vars("h1")["x"] == "b"
    assert inventory.host_vars("h2")["x"] == "c"
    assert "ansible_group_priority" not in inventory.host_vars("h2")
    assert inventory.group_vars("c_group")["ansible_group_priority"] == 5


def test_playbook_dir_vars_win_over_inventory_dir_vars(tmp_path: Path) -> None:
    write(tmp_path, "inventory/hosts.ini", "[web]\nw1\n")
    write(tmp_path, "inventory/group_vars/web.yml", "where: inventory\nonly_inv: 1\n")
    write(tmp_path, "site/group_vars/web.yml", "where: playbook\n")
    inventory = load(["inventory/hosts.ini"], playbook_dir=Path("site"), cwd=tmp_path)
    assert inventory.host_vars("w1")["where"] == "playbook"
    assert inventory.host_vars("w1")["only_inv"] == 1


def test_var_file_directories_merge_in_sorted_order(tmp_path: Path) -> None:
    write(tmp_path, "hosts.ini", "[web]\nw1\n")
    write(tmp_path, "group_vars/web/b.yml", "x: b\ny: b\n")
    write(tmp_path, "group_vars/web/a.json", '{"x": "a", "z": 1e2}')
    write(tmp_path, "group_vars/web/c.txt", "x: ignored\n")
    variables = load(["hosts.ini"], cwd=tmp_path).host_vars("w1")
    assert (variables["x"], variables["y"], variables["z"]) == ("b", "b", 100.0)


def test_several_sources_add_up(tmp_path: Path) -> None:
    write(tmp_path, "a.ini", "[web]\nw1 src=a\n")
    write(tmp_path, "b.yml", "web: {hosts: {w2: {src: b}}}\ndb: {hosts: {w1: }}\n")
    inventory = load(["a.ini", "b.yml"], cwd=tmp_path)
    assert inventory.select("web") == ["w1", "w2"]
    assert inventory.select("db") == ["w1"]
    assert inventory.host_vars("w2")["src"] == "b"


def test_corral_inventory_environment_variable_is_the_default(tmp_path: Path) -> None:
    write(tmp_path, "one.ini", "a1\n")
    write(tmp_path, "two.ini", "a2\n")
    environ = {"CORRAL_INVENTORY": f"{tmp_path / 'one.ini'},{tmp_path / 'two.ini'}"}
    assert load([], environ=environ, cwd=tmp_path).hosts == ["a1", "a2"]


def test_inventory_directory_is_the_next_default(tmp_path: Path) -> None:
    write(tmp_path, "inventory/10-web.ini", "[web]\nw1\n")
    write(tmp_path, "inventory/20-db.yml", "db: {hosts: {d1: }}\n")
    write(tmp_path, "inventory/README.md", "not an inventory\n")
    inventory = load([], environ={}, cwd=tmp_path)
    assert inventory.hosts == ["w1", "d1"]


def test_without_any_inventory_only_the_implicit_localhost_exists(tmp_path: Path) -> None:
    inventory = load([], environ={}, cwd=tmp_path)
    assert inventory.hosts == []
    assert inventory.select("all") == []
    assert inventory.select("localhost") == ["localhost"]
    variables = inventory.host_vars("localhost")
    assert variables["ansible_connection"] == "local"
    assert variables["ansible_python_interpreter"] == sys.executable
    assert variables["group_names"] == []
    assert any("implicit localhost" in w for w in inventory.warnings)


def test_implicit_localhost_sees_all_group_vars_but_stays_out_of_all(tmp_path: Path) -> None:
    write(tmp_path, "hosts.ini", "[web]\nw1\n[all:vars]\nsite=lab\nansible_connection=ssh\n")
    inventory = load(["hosts.ini"], cwd=tmp_path)
    variables = inventory.host_vars("localhost")
    assert variables["site"] == "lab"
    assert variables["ansible_connection"] == "local"
    assert inventory.select("all") == ["w1"]
    assert "localhost" not in inventory.groups_mapping()["all"]


def test_connection_variables_are_typed(tmp_path: Path) -> None:
    write(
        tmp_path,
        "hosts.ini",
        """
        [db]
        db1:2222 ansible_host=10.0.0.5 ansible_user=deploy ansible_ssh_private_key_file=~/.ssh/id
        db2 ansible_become=yes ansible_become_user=postgres
        [db:vars]
        ansible_become_method=sudo
        ansible_python_interpreter=/usr/bin/python3
        """,
    )
    inventory = load(["hosts.ini"], cwd=tmp_path)
    db1 = inventory.connection_vars("db1")
    assert (db1.address, db1.port, db1.user, db1.connection) == ("10.0.0.5", 2222, "deploy", "ssh")
    assert db1.private_key_file == "~/.ssh/id"
    assert db1.become is False
    db2 = inventory.connection_vars("db2")
    assert (db2.address, db2.port, db2.become, db2.become_user) == ("db2", None, True, "postgres")
    assert (db2.become_method, db2.python_interpreter) == ("sudo", "/usr/bin/python3")
    assert inventory.connection_vars("localhost").connection == "local"


def test_a_bad_port_is_an_error_naming_the_host(tmp_path: Path) -> None:
    write(tmp_path, "hosts.ini", "h1 ansible_port=ssh\n")
    inventory = load(["hosts.ini"], cwd=tmp_path)
    with pytest.raises(InventoryError, match="host 'h1': ansible_port must be a port number"):
        inventory.connection_vars("h1")


def test_unknown_host_is_an_error_with_suggestions(tmp_path: Path) -> None:
    write(tmp_path, "hosts.ini", "web01\nweb02\n")
    inventory = load(["hosts.ini"], cwd=tmp_path)
    with pytest.raises(InventoryError, match="unknown host 'web1'") as caught:
        inventory.host_vars("web1")
    assert caught.value.hint is not None
    assert "web01" in caught.value.hint


def test_plugin_sources_are_tried_before_the_builtin_readers(tmp_path: Path) -> None:
    write(tmp_path, "fleet.ini", "[web]\nfrom_ini\n")

    def parse(source: str, builder: object) -> None:
        inventory = as_inventory(builder)
        inventory.add_group("cloud")
        inventory.add_host("vm-1", "cloud")
        inventory.set_variable("vm-1", "region", source.rsplit("/", 1)[-1])

    cloud = InventorySourceType(
        name="cloud", verify=lambda s: s.endswith(".ini"), parse=parse, plugin="test"
    )
    inventory = load(["fleet.ini"], plugin_sources=[cloud, *SOURCES], cwd=tmp_path)
    assert inventory.hosts == ["vm-1"]
    assert inventory.host_vars("vm-1")["region"] == "fleet.ini"


def test_plugin_sources_may_claim_strings_that_are_not_paths(tmp_path: Path) -> None:
    def parse(source: str, builder: object) -> None:
        inventory = as_inventory(builder)
        for name in source.removeprefix("static://").split("+"):
            inventory.add_host(name)

    static = InventorySourceType(
        name="static", verify=lambda s: s.startswith("static://"), parse=parse, plugin="test"
    )
    inventory = load(["static://a+b"], plugin_sources=[static, *SOURCES], cwd=tmp_path)
    assert inventory.select("all") == ["a", "b"]


def test_a_failing_plugin_source_becomes_an_inventory_error(tmp_path: Path) -> None:
    def parse(source: str, builder: object) -> None:
        raise KeyError("token")

    broken = InventorySourceType(name="broken", verify=lambda s: True, parse=parse, plugin="acme")
    with pytest.raises(InventoryError, match="'broken' from plugin acme failed: KeyError"):
        load(["anything"], plugin_sources=[broken, *SOURCES], cwd=tmp_path)


def test_adding_hosts_after_loading_updates_queries(tmp_path: Path) -> None:
    write(tmp_path, "hosts.ini", "[web]\nw1\n")
    inventory = load(["hosts.ini"], cwd=tmp_path)
    assert inventory.select("web") == ["w1"]
    inventory.add_host("w2", "web")
    inventory.set_variable("web", "color", "blue")
    assert inventory.select("web") == ["w1", "w2"]
    assert inventory.host_vars("w2")["color"] == "blue"
