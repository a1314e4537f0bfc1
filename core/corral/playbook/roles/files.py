"""A role's files: ``tasks/``, ``handlers/``, ``defaults/``, ``vars/``, ``meta/``.

Ansible finds ``<dir>/main`` as ``main.yml``, ``main.yaml``, ``main.json`` or
``main`` itself; for ``vars/`` and ``defaults/`` ``main`` may also be a
directory, whose files are read in name order and merged.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from corral.errors import Location, PlaybookError

__all__ = ["find_role_file", "load_vars_file", "load_vars_path"]

EXTENSIONS = ("", ".yml", ".yaml", ".json")

Reader = Callable[[Path, Location], Any]


def find_role_file(role_path: Path, subdir: str, name: str) -> Path | None:
    """``role_path/subdir/name`` with one of Ansible's extensions, or a directory of that name."""
    base = role_path / subdir
    for ext in (".yml", ".yaml", ".json", ""):
        candidate = base / f"{name}{ext}"
        if os.path.isfile(candidate):
            return candidate
    directory = base / name
    return directory if os.path.isdir(directory) else None


def load_vars_file(path: Path, read: Reader, where: Location) -> dict[str, Any]:
    """One vars file as a mapping (empty file: no variables)."""
    data = read(path, where)
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise PlaybookError(
            f"vars file {path.name!r} must hold a mapping",
            hint="a vars file is 'name: value' lines",
            location=Location(str(path), 1, 1),
        )
    return dict(data)


def load_vars_path(path: Path, read: Reader, where: Location) -> dict[str, Any]:
    """A vars file, or every file of a vars directory, merged in name order."""
    if os.path.isfile(path):
        return load_vars_file(path, read, where)
    merged: dict[str, Any] = {}
    for child in sorted(path.rglob("*")):
        usable = child.suffix in (".yml", ".yaml", ".json", "") and child.name[0] != "."
        if usable and os.path.isfile(child):
            merged.update(load_vars_file(child, read, where))
    return merged
