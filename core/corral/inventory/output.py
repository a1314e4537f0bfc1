"""What ``corral inventory`` prints: the structures of ``ansible-inventory``.

``--list`` gives ``{group: {"hosts": [...], "children": [...]}, "_meta":
{"hostvars": {...}, "profile": "inventory_legacy"}}`` with empty groups left
out; ``--list --yaml`` the nested form; ``--host`` one host's variables;
``--graph`` a tree. Magic and internal variables (``inventory_hostname``,
``group_names``, ``inventory_file``, ...) are left out, as Ansible does.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Callable, Mapping
from typing import Any

from corral.inventory.model import Inventory
from corral.playbook.yaml.read import UnsafeText
from corral.secrets import VaultText

__all__ = [
    "INTERNAL_VARS",
    "graph_text",
    "host_data",
    "list_data",
    "public_vars",
    "to_json",
    "to_yaml",
    "yaml_list_data",
]

# Ansible's INTERNAL_STATIC_VARS: never shown by ansible-inventory.
INTERNAL_VARS = frozenset(
    {
        "ansible_async_path", "ansible_collection_name", "ansible_config_file",
        "ansible_dependent_role_names", "ansible_diff_mode", "ansible_facts", "ansible_forks",
        "ansible_inventory_sources", "ansible_limit", "ansible_play_batch", "ansible_play_hosts",
        "ansible_play_hosts_all", "ansible_play_role_names", "ansible_playbook_python",
        "ansible_role_name", "ansible_role_names", "ansible_run_tags", "ansible_skip_tags",
        "ansible_verbosity", "ansible_version", "inventory_dir", "inventory_file",
        "inventory_hostname", "inventory_hostname_short", "groups", "group_names", "hostvars",
        "playbook_dir", "play_hosts", "role_name", "role_names", "role_path", "role_uuid",
    }
)  # fmt: skip


_PLAIN_SCALARS = frozenset({str, int, float, bool, type(None)})


def public_vars(variables: Mapping[str, Any]) -> dict[str, Any]:
    """``variables`` without the names ansible-inventory never prints."""
    return {key: value for key, value in variables.items() if key not in INTERNAL_VARS}


def host_data(inventory: Inventory, host: str) -> dict[str, Any]:
    """What ``--host HOST`` prints: the host's merged variables (``!vault`` values encrypted)."""
    return {
        key: {"__ansible_vault": value.ciphertext} if type(value) is VaultText else value
        for key, value in public_vars(inventory.host_vars_view(host)).items()
    }


def list_data(inventory: Inventory, *, limit: str | None = None) -> dict[str, Any]:
    """What ``--list`` prints (as ``ansible-inventory --list``), optionally within ``limit``."""
    hosts = inventory.select("all", limit=limit)
    available = frozenset(hosts)
    result: dict[str, Any] = {}
    formatted: set[str] = set()

    def add(name: str) -> None:
        group = inventory.groups[name]
        entry: dict[str, Any] = {}
        result[name] = entry
        if name != "all":
            entry["hosts"] = [host for host in group.hosts if host in available]
        entry["children"] = list(group.children)
        for child in group.children:
            if child not in formatted:
                add(child)
                formatted.add(child)
        for key in ("hosts", "children"):
            if key in entry and not entry[key]:
                del entry[key]
        if not entry:
            del result[name]

    add("all")
    hostvars = {}
    for host in hosts:
        variables = host_data(inventory, host)
        if variables:
            hostvars[host] = _unsafe_markers(variables)
    result["_meta"] = {"hostvars": hostvars, "profile": "inventory_legacy"}
    return result


def yaml_list_data(inventory: Inventory, *, limit: str | None = None) -> dict[str, Any]:
    """What ``--list --yaml`` prints: groups nested under ``all``, host variables inline."""
    available = frozenset(inventory.select("all", limit=limit))
    shown_hosts: set[str] = set()
    formatted: set[str] = set()

    def format_group(name: str) -> dict[str, Any]:
        group = inventory.groups[name]
        children: dict[str, Any] = {}
        for child in group.children:
            if child == "all":
                continue
            if child in formatted:
                children[child] = {}
            else:
                children.update(format_group(child))
                formatted.add(child)
        hosts: dict[str, Any] = {}
        if name != "all":
            for host in group.hosts:
                if host not in available:
                    continue
                hosts[host] = {} if host in shown_hosts else host_data(inventory, host)
                shown_hosts.add(host)
        entry = {key: value for key, value in (("children", children), ("hosts", hosts)) if value}
        return {name: entry} if entry else {}

    return format_group("all")


def graph_text(inventory: Inventory, group: str = "all", *, with_vars: bool = False) -> str:
    """The ``--graph`` tree below ``group``, with variables when ``with_vars``."""
    return "\n".join(_graph_group(inventory, group, 0, with_vars))


def _graph_group(inventory: Inventory, name: str, depth: int, with_vars: bool) -> list[str]:
    group = inventory.groups[name]
    lines = [_graph_line(f"@{name}:", depth)]
    for child in group.children:
        lines.extend(_graph_group(inventory, child, depth + 1, with_vars))
    if name != "all":
        for host in group.hosts:
            lines.append(_graph_line(host, depth + 1))
            if with_vars:
                lines.extend(_graph_vars(host_data(inventory, host), depth + 2))
    if with_vars:
        lines.extend(_graph_vars(public_vars(inventory.group_vars(name)), depth + 1))
    return lines


def _graph_line(text: str, depth: int) -> str:
    return "  |" * depth + "--" + text if depth else text


def _graph_vars(variables: Mapping[str, Any], depth: int) -> list[str]:
    return [
        _graph_line(f"{{{key} = {value}}}", depth)
        for key, value in sorted(variables.items(), key=lambda item: str(item[0]))
    ]


def to_json(data: Any) -> str:
    """JSON as ansible-inventory writes it: sorted keys, four-space indent, ASCII only.

    The text is the same as ``json.dumps(data, indent=4, sort_keys=True)``, made
    faster: mappings and lists of plain values (most host variables) go through
    json's C encoder in one call each, with the indentation as separator.
    """
    try:
        return _indented(data, 0)
    except TypeError:
        # Keys of mixed types (an INI literal such as {1: 'a', 'b': 2}) cannot be sorted.
        return _indented(_string_keys(data), 0)


def _indented(value: Any, level: int) -> str:
    kind = type(value)
    if kind is dict and all(type(key) is str for key in value):
        items = value.values()
    elif kind is list:
        items = value
    else:
        text = json.dumps(value, sort_keys=True, indent=4, default=_json_default)
        # JSON strings hold no raw newline, so shifting every line is safe.
        return text.replace("\n", "\n" + "    " * level)
    if not value:
        return "{}" if kind is dict else "[]"
    pad = "\n" + "    " * (level + 1)
    if all(type(item) in _PLAIN_SCALARS for item in items):
        inner = _flat_encoder(pad)(value)[1:-1]
    elif kind is dict:
        inner = ("," + pad).join(
            f"{json.dumps(key)}: {_indented(value[key], level + 1)}" for key in sorted(value)
        )
    else:
        inner = ("," + pad).join(_indented(item, level + 1) for item in value)
    opening, closing = ("{", "}") if kind is dict else ("[", "]")
    return opening + pad + inner + "\n" + "    " * level + closing


@functools.cache
def _flat_encoder(pad: str) -> Callable[[Any], str]:
    """json's C encoder, putting ``pad`` between items as the indented form does."""
    return json.JSONEncoder(separators=("," + pad, ": "), sort_keys=True).encode


def to_yaml(data: Any) -> str:
    """YAML as ansible-inventory writes it: block style, sorted keys, no anchors."""
    import yaml

    return str(
        yaml.dump(data, Dumper=_dumper(), default_flow_style=False, allow_unicode=True)
    ).rstrip("\n")


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def _string_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): _string_keys(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_string_keys(item) for item in value]
    return value


def _unsafe_markers(value: Any) -> Any:
    """Ansible's ``--list`` writes ``!unsafe`` strings as ``{"__ansible_unsafe": ...}``.

    ``!vault`` values as ``{"__ansible_vault": ciphertext}``: never their plaintext.
    """
    if type(value) is dict:
        # The common case, checked quickly: nothing but plain scalars.
        for item in value.values():
            if type(item) not in _PLAIN_SCALARS:
                break
        else:
            return value
    kind = type(value)
    if kind is UnsafeText:
        return {"__ansible_unsafe": str(value)}
    if kind is VaultText:
        return {"__ansible_vault": value.ciphertext}
    if kind is dict:
        for item in value.values():
            if _unsafe_markers(item) is not item:
                return {key: _unsafe_markers(item) for key, item in value.items()}
    elif kind is list:
        for item in value:
            if _unsafe_markers(item) is not item:
                return [_unsafe_markers(item) for item in value]
    return value


@functools.cache
def _dumper() -> type[Any]:
    import yaml

    base: type[Any] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

    class Dumper(base):  # type: ignore[misc]
        def ignore_aliases(self, data: Any) -> bool:
            return True

    Dumper.add_representer(UnsafeText, lambda dumper, value: dumper.represent_str(str(value)))
    # A !vault value is shown as ansible-inventory --yaml shows it: its ciphertext.
    Dumper.add_representer(
        VaultText,
        lambda dumper, value: dumper.represent_scalar("!vault", value.ciphertext, style="|"),
    )
    return Dumper
