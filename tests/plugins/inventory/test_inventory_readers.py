"""The built-in readers through load_inventory: host lists, scripts, YAML's !unsafe."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

from corral.inventory import load_inventory
from corral.playbook.yaml.read import UnsafeText
from corral_plugins.inventory import SOURCES


def write(root: Path, name: str, text: str) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def test_host_list_source(tmp_path: Path) -> None:
    inventory = load_inventory(["web1,web2:2222,"], plugin_sources=SOURCES, cwd=tmp_path)
    assert inventory.select("ungrouped") == ["web1", "web2"]
    assert inventory.host_vars("web2")["ansible_port"] == 2222


def test_script_without_meta_is_asked_per_host(tmp_path: Path) -> None:
    script = write(
        tmp_path,
        "inv.py",
        f"""
        #!{sys.executable}
        import json, sys
        if sys.argv[1] == "--list":
            print(json.dumps({{"app": ["a1", "a2"]}}))
        else:
            print(json.dumps({{"asked": sys.argv[2]}}))
        """,
    )
    script.chmod(0o755)
    inventory = load_inventory(["inv.py"], plugin_sources=SOURCES, cwd=tmp_path)
    assert inventory.host_vars("a2")["asked"] == "a2"


def test_unsafe_yaml_values_stay_strings_marked_unsafe(tmp_path: Path) -> None:
    write(tmp_path, "hosts.yml", "all:\n  hosts: {h1: {raw: !unsafe '{{ keep }}'}}\n")
    value = load_inventory(["hosts.yml"], plugin_sources=SOURCES, cwd=tmp_path).host_vars("h1")[
        "raw"
    ]
    assert value == "{{ keep }}"
    assert isinstance(value, UnsafeText)
