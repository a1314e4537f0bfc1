"""Reading inventory and variable files: bytes to text, then JSON or YAML to data.

As Ansible's loader does, a data file is tried as JSON first and then as YAML. The
YAML goes through the playbooks' bounded reader (:func:`~corral.playbook.yaml.load.
load_yaml_text`: YAML 1.1 types as PyYAML's safe loader gives them, libyaml when
available, the same size, depth and alias limits) in the inventory's
:class:`~corral.playbook.yaml.dialect.Dialect`: ``!unsafe`` values become
:class:`UnsafeText`, ``!vault`` values are refused, a repeated key is a warning and
its last value wins. Every error is an :class:`~corral.errors.InventoryError` with
``file:line:col``; PyYAML is imported on first use, never when this module is imported.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from corral.errors import CorralError, InventoryError, Location

__all__ = ["UnsafeText", "first_line", "load_data", "loads_json", "mark_unsafe", "read_text"]

Warn = Callable[[str], None]
_VAULT = "vault-encrypted values (!vault) are not supported; use corral secrets instead"


class UnsafeText(str):
    """A string marked ``!unsafe``: a value to use as written, never to template."""

    __slots__ = ()


def read_text(path: str) -> str:
    """Read ``path`` as UTF-8 text, refusing binary files with the line of the offence."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise InventoryError(
            f"cannot read file: {exc.strerror or exc}", location=Location(path)
        ) from exc
    nul = data.find(b"\0")
    if nul >= 0:
        raise InventoryError(
            "binary file (it contains NUL bytes), not an inventory or variables file",
            location=Location(path, data.count(b"\n", 0, nul) + 1),
            hint="point -i at inventory files only, or give binary files an ignored "
            "extension such as .bak",
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InventoryError(
            f"file is not valid UTF-8 (byte 0x{data[exc.start]:02x})",
            location=Location(path, data.count(b"\n", 0, exc.start) + 1),
        ) from exc
    return text.removeprefix("\ufeff")


def first_line(path: str) -> str:
    """The first line of ``path`` that says something ("" if there is none).

    A ``#!`` first line counts; blank lines and ``#`` or ``;`` comments do not.
    """
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            for number, line in enumerate(handle):
                text = line.strip()
                if number == 0 and text.startswith("#!"):
                    return text
                if text and text[0] not in "#;":
                    return text
    except OSError:
        pass
    return ""


def load_data(path: str, text: str, warn: Warn) -> Any:
    """Parse an inventory or variables file: JSON if it is JSON, else YAML (as Ansible does).

    YAML mappings and lists come out as the loader's marked types (each knows where it
    was written, and ``key_marks`` where each key is); strings are plain. Callers that
    keep values use :func:`corral.playbook.yaml.marked.unmark`.
    """
    try:
        return loads_json(text)
    except ValueError:
        pass
    from corral.playbook.yaml.dialect import Dialect
    from corral.playbook.yaml.load import load_yaml_text

    def duplicate(where: Location, key: Any) -> None:
        warn(f"{where}: duplicate key {key!r}; the last value is used")

    dialect = Dialect(
        tags=_TAGS, on_duplicate=duplicate, string_marks=False, syntax_error=_syntax_error
    )
    try:
        return load_yaml_text(text, path, dialect=dialect)
    except InventoryError:
        raise
    except CorralError as exc:
        raise InventoryError(
            f"invalid YAML: {exc.message}", hint=exc.hint, location=exc.location
        ) from exc


def loads_json(text: str) -> Any:
    """Parse JSON, turning Ansible's ``{"__ansible_unsafe": ...}`` into :class:`UnsafeText`."""
    if "__ansible_unsafe" not in text:
        return json.loads(text)
    return json.loads(text, object_hook=_unsafe_hook)


def _unsafe_hook(obj: dict[str, Any]) -> Any:
    """Decode Ansible's ``{"__ansible_unsafe": "..."}`` marker, as its JSON decoder does."""
    if len(obj) == 1 and isinstance(obj.get("__ansible_unsafe"), str):
        return UnsafeText(obj["__ansible_unsafe"])
    return obj


def mark_unsafe(value: Any) -> Any:
    """``value`` with every string in it made :class:`UnsafeText`."""
    if isinstance(value, str):
        return UnsafeText(value)
    if isinstance(value, list):
        return [mark_unsafe(v) for v in value]
    if isinstance(value, dict):
        return {k: mark_unsafe(v) for k, v in value.items()}
    return value


def _refuse_vault(value: Any) -> Any:
    raise ValueError(_VAULT)


_TAGS: dict[str, Callable[[Any], Any]] = {
    "!unsafe": lambda value: UnsafeText(value) if isinstance(value, str) else mark_unsafe(value),
    "!vault": _refuse_vault,
    "!vault-encrypted": _refuse_vault,
}


def _syntax_error(exc: Any, text: str, path: str) -> InventoryError:
    """One line for a PyYAML syntax error, in PyYAML's words, at the problem's mark."""
    mark = exc.problem_mark
    message = " ".join(str(exc.problem or "invalid YAML").split())
    if exc.context:
        message = f"{message} ({' '.join(str(exc.context).split())})"
    if mark is None:
        return InventoryError(f"invalid YAML: {message}", location=Location(path))
    return InventoryError(
        f"invalid YAML: {message}", location=Location(path, mark.line + 1, mark.column + 1)
    )
