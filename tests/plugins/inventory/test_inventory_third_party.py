"""A third-party inventory source next to the built-in readers: used, and tried first."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from corral import InventorySourceType, hookimpl
from corral.inventory.model import as_inventory
from corral.plugins import build_registry, make_plugin_manager
from corral.testing import CorralProject


class FleetFiles:
    """Reads ``*.fleet`` files (one host per line) and, if asked, ``*.ini`` files too."""

    def __init__(self, *, takes_ini: bool = False) -> None:
        self.takes_ini = takes_ini

    def verify(self, source: str) -> bool:
        return source.endswith(".fleet") or (self.takes_ini and source.endswith(".ini"))

    def parse(self, source: str, builder: object) -> None:
        inventory = as_inventory(builder)
        inventory.add_group("fleet")
        with open(source, encoding="utf-8") as handle:
            for line in handle:
                name = line.split()[0] if line.strip() else ""
                if name and not name.startswith(("#", "[")):
                    inventory.add_host(name, "fleet")
                    inventory.set_variable(name, "ansible_connection", "local")
                    inventory.set_variable(name, "read_by", "fleet")

    @hookimpl
    def corral_register_inventory_sources(self, register: Any) -> None:
        register(InventorySourceType(name="fleet", verify=self.verify, parse=self.parse))


def test_a_third_party_source_serves_inventory_and_run(corral_project: CorralProject) -> None:
    corral_project.plugins.append(FleetFiles())
    corral_project.write("hosts.fleet", "app1\napp2\n")
    listed = corral_project.run("inventory", "-i", "hosts.fleet", "--list")
    assert listed.exit_code == 0, listed.output
    data = json.loads(listed.stdout)
    assert data["fleet"] == {"hosts": ["app1", "app2"]}
    assert data["_meta"]["hostvars"]["app2"]["read_by"] == "fleet"

    corral_project.write(
        "site.yml",
        """
        - hosts: fleet
          gather_facts: false
          tasks:
            - debug: {msg: "hello {{ inventory_hostname }} from {{ read_by }}"}
        """,
    )
    result = corral_project.run("run", "site.yml", "-i", "hosts.fleet", "--output", "json")
    assert result.exit_code == 0, result.output
    messages = sorted(
        e["result"]["msg"] for e in result.json_lines() if e["event"] == "task_result"
    )
    assert messages == ["hello app1 from fleet", "hello app2 from fleet"]


def test_third_party_sources_are_tried_before_the_built_in_ones(
    corral_project: CorralProject,
) -> None:
    corral_project.write("hosts.ini", "[web]\nweb1\n")
    builtin = corral_project.run("inventory", "-i", "hosts.ini", "--list")
    assert json.loads(builtin.stdout)["web"] == {"hosts": ["web1"]}

    corral_project.plugins.append(FleetFiles(takes_ini=True))
    taken = corral_project.run("inventory", "-i", "hosts.ini", "--list")
    assert taken.exit_code == 0, taken.output
    listed = json.loads(taken.stdout)
    assert "web" not in listed
    assert listed["fleet"] == {"hosts": ["web1"]}


def test_the_registry_lists_built_in_readers_last_in_ansible_order() -> None:
    registry = build_registry(make_plugin_manager({}, extra_plugins=[("acme", FleetFiles())]))
    names = [(source.plugin, source.name) for source in registry.inventory_sources]
    assert names == [
        ("acme", "fleet"),
        ("inventory", "host_list"),
        ("inventory", "script"),
        ("inventory", "yaml"),
        ("inventory", "ini"),
    ]


def test_without_the_built_in_plugin_a_path_is_one_clear_error(
    corral_project: CorralProject,
) -> None:
    corral_project.write("hosts.ini", "[web]\nweb1\n")
    result = corral_project.run(
        "inventory", "-i", "hosts.ini", "--list", env={"CORRAL_DISABLE_PLUGIN_AUTOLOAD": "1"}
    )
    assert result.exit_code == 4
    lines = result.stderr.splitlines()
    assert lines[0] == (
        "error: no inventory source type can read "
        f"{str(corral_project.path / 'hosts.ini')!r}: no plugin registered one"
    )
    assert lines[1].startswith("hint: corral's readers come from its built-in 'inventory' plugin")
    assert "Traceback" not in result.output


def test_the_implicit_localhost_needs_no_reader(corral_project: CorralProject) -> None:
    result = corral_project.run(
        "inventory", "--host", "localhost", env={"CORRAL_DISABLE_PLUGIN_AUTOLOAD": "1"}
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["ansible_connection"] == "local"
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from corral.inventory import load_inventory; "
            "load_inventory([], environ={}); "
            "print(sorted(m for m in sys.modules if m.startswith('corral_plugins')))",
        ],
        cwd=corral_project.path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert loaded.stdout.strip() == "[]"
