"""The INI inventory reader, line for line compatible with Ansible's ``ini`` plugin.

Hosts before any section belong to ``ungrouped``. ``[group]`` lists hosts (with
ranges, ``:port`` and inline ``key=value`` variables), ``[group:children]``
lists child groups (which may be declared further down), ``[group:vars]`` sets
group variables. As in ansible-core, every value is read as a Python literal
when it is one (``port=80`` is an int, ``debug=True`` a bool, ``x=[1, 2]`` a
list) and as a string otherwise; see ``docs/inventory.md``.

Lines are split with plain string operations; ``shlex`` is used only for lines
with quotes, escapes or comments, and ``ast.literal_eval`` only for values
that are not plain numbers or words.
"""

from __future__ import annotations

import ast
import os
import re
import shlex
import warnings
from dataclasses import dataclass, field
from typing import Any

from corral.errors import InventoryError, Location
from corral.inventory.model import Inventory, as_inventory
from corral.inventory.ranges import expand_host_pattern
from corral.inventory.source import InventoryBuilder, InventorySourceType
from corral.playbook.yaml.read import read_text

__all__ = ["INI_SOURCE", "parse_ini_value", "read_ini"]

_SECTION = re.compile(r"^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:\#.*)?$")
_GROUP_NAME = re.compile(r"^([^:\]\s]+)\s*(?:\#.*)?$")
# Characters that make shlex.split() differ from str.split(): quotes, escapes,
# comments, and whitespace other than space and tab.
_NEEDS_SHLEX = re.compile(r"[\"'\\#]|[^\S \t]")
_PLAIN_INT = re.compile(r"-?(?:0|[1-9][0-9]*)\Z")
_PLAIN_FLOAT = re.compile(r"-?[0-9]+\.[0-9]+\Z")
_PLAIN_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*\Z")
_DOTTED_NUMBERS = re.compile(r"[0-9]+(?:\.[0-9]+){2,}\Z")  # 10.0.0.1, 1.2.3: never literals
_NEVER_LITERAL_START = frozenset("/%@$&*:=,|<>?!~^#;`")
_CONSTANTS: dict[str, Any] = {"True": True, "False": False, "None": None}


@dataclass
class _Pending:
    """A group used before it was declared, and where that happened."""

    line: int
    kind: str  # "vars" or "children"
    parents: list[str] = field(default_factory=list)


def read_ini(path: str, builder: InventoryBuilder) -> None:
    """Read the INI inventory at ``path`` into ``builder`` (a corral Inventory)."""
    inventory = as_inventory(builder)
    lines = read_text(path).splitlines()
    pending: dict[str, _Pending] = {}
    group, kind = "ungrouped", "hosts"
    number = 0
    try:
        for number, raw in enumerate(lines, 1):
            line = raw.strip()
            if not line or line[0] in "#;":
                continue
            if line[0] == "[":
                match = _SECTION.match(line)
                if match:
                    group, kind = _enter_section(inventory, match, pending, number)
                    continue
                if line.endswith("]"):
                    raise InventoryError(
                        f"invalid section header {line!r}",
                        hint="write [group], [group:vars] or [group:children], with no spaces",
                    )
            if kind == "hosts":
                _add_host_line(inventory, line, group)
            elif kind == "vars":
                key, value = _variable(line)
                inventory.set_variable(group, key, value)
            else:
                _add_child_line(inventory, line, group, pending, number)
        for name, declaration in pending.items():
            number = declaration.line
            if declaration.kind == "vars":
                raise InventoryError(
                    f"section [{name}:vars] is for group {name!r}, which is never declared",
                    hint=f"add a [{name}] or [{name}:children] section",
                )
            raise InventoryError(
                f"section [{declaration.parents[-1]}:children] names group {name!r}, "
                "which is never declared",
                hint=f"add a [{name}] section, or list hosts instead",
            )
    except InventoryError as exc:
        if exc.location is None:
            exc.location = Location(path, number or None)
        raise


def _enter_section(
    inventory: Inventory, match: re.Match[str], pending: dict[str, _Pending], number: int
) -> tuple[str, str]:
    name, kind = match.group(1), match.group(2) or "hosts"
    if kind not in ("hosts", "children", "vars"):
        raise InventoryError(
            f"section [{name}:{kind}] has unknown type {kind!r}",
            hint="the types are :vars and :children",
        )
    if name not in inventory.groups:
        # [g:vars] alone does not declare g; it must be declared somewhere in this file.
        if kind == "vars" and name not in pending:
            pending[name] = _Pending(number, "vars")
        inventory.add_group(name)
    declared = pending.get(name)
    if declared is not None and kind != "vars":
        if declared.kind == "children":
            _add_pending_children(inventory, name, pending)
        else:
            del pending[name]
    return name, kind


def _add_pending_children(inventory: Inventory, group: str, pending: dict[str, _Pending]) -> None:
    for parent in pending[group].parents:
        inventory.add_child(parent, group)
        above = pending.get(parent)
        if above is not None and above.kind == "children":
            _add_pending_children(inventory, parent, pending)
    del pending[group]


def _add_child_line(
    inventory: Inventory, line: str, group: str, pending: dict[str, _Pending], number: int
) -> None:
    match = _GROUP_NAME.match(line)
    if match is None:
        raise InventoryError(f"expected a group name, got {line!r}")
    child = match.group(1)
    if child in inventory.groups:
        inventory.add_child(group, child)
    elif child in pending:
        pending[child].parents.append(group)
    else:
        pending[child] = _Pending(number, "children", [group])


def _add_host_line(inventory: Inventory, line: str, group: str) -> None:
    if _NEEDS_SHLEX.search(line):
        try:
            tokens = shlex.split(line, comments=True)
        except ValueError as exc:
            raise InventoryError(f"cannot split host line {line!r}: {exc}") from None
        if not tokens:
            return
    else:
        tokens = line.split()
    entry = tokens[0]
    names, port = expand_host_pattern(entry)
    if port is None and entry.endswith(":"):
        raise InventoryError(
            f"host {entry!r} ends in ':'",
            hint="':' separates a host from its port, as in web1:2222",
        )
    if "---" in names:
        raise InventoryError(
            "'---' is not a host name; it starts a YAML document",
            hint="a YAML inventory needs a .yml or .yaml name",
        )
    variables = {}
    for token in tokens[1:]:
        key, sep, value = token.partition("=")
        if not sep:
            raise InventoryError(
                f"expected key=value after the host name, got {token!r}",
                hint="quote values that contain spaces: key='a b'",
            )
        variables[key] = parse_ini_value(value)
    inventory.add_hosts(names, group, variables, port)


def _variable(line: str) -> tuple[str, Any]:
    key, sep, value = line.partition("=")
    if not sep:
        raise InventoryError(f"expected key=value, got {line!r}")
    return key.strip(), parse_ini_value(value.strip())


def parse_ini_value(text: str) -> Any:
    """Type an INI value as Ansible does: a Python literal if it is one, else the string."""
    value = _plain_value(text)
    if value is not _NOT_PLAIN:
        return value
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarning, DeprecationWarning for "\\d"
            value = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text
    return _coerce(value)


_NOT_PLAIN = object()


def _plain_value(text: str) -> Any:
    """What inventories mostly hold, typed without literal_eval (with the same result)."""
    if len(text) < 19 and _PLAIN_INT.match(text):
        return int(text)
    if text in _CONSTANTS:
        return _CONSTANTS[text]
    if not text or text[0] in _NEVER_LITERAL_START or _DOTTED_NUMBERS.match(text):
        return text
    if _PLAIN_WORD.match(text):
        return text  # a name, attribute or subtraction of names: never a literal
    if len(text) < 19 and _PLAIN_FLOAT.match(text):
        return float(text)
    return _NOT_PLAIN


def _coerce(value: Any) -> Any:
    """Turn what literal_eval gives into variable types, as Ansible's INI plugin does."""
    if isinstance(value, list | tuple | set):
        return [_coerce(item) for item in value]
    if isinstance(value, dict):
        return {key: _coerce(item) for key, item in value.items()}
    if value is ...:
        return "..."
    if isinstance(value, complex):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="surrogateescape")
    return value


def _verify_ini(source: str) -> bool:
    return (
        os.path.isfile(source)
        and os.access(source, os.R_OK)
        and os.path.splitext(source)[1] != ".toml"
    )


INI_SOURCE = InventorySourceType(
    name="ini",
    verify=_verify_ini,
    parse=read_ini,
    description="Ansible INI inventory files",
)
