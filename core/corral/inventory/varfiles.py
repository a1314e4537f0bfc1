"""``group_vars/`` and ``host_vars/`` next to an inventory source or a playbook.

As Ansible's ``host_group_vars`` plugin does, the variables of entity ``web``
come from the first of ``web``, ``web.yml``, ``web.yaml``, ``web.json`` found
in the directory; if that is a directory, from every file in it (sorted,
recursively, hidden and ``~`` backup files skipped, other extensions ignored),
merged in order. Empty files are skipped; anything else must be a mapping.

Each directory is listed once, and each entity's files are read once.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from corral.errors import InventoryError, Location
from corral.playbook.yaml.marked import unmark
from corral.playbook.yaml.read import load_data, read_text

__all__ = ["VARS_EXTENSIONS", "VarsDir"]

VARS_EXTENSIONS = (".yml", ".yaml", ".json")
_EMPTY: Mapping[str, Any] = {}


class VarsDir:
    """The ``group_vars`` and ``host_vars`` directories under one base directory."""

    def __init__(self, base: str, warn: Callable[[str], None]) -> None:
        self.base = base
        self._warn = warn
        self._listings: dict[str, dict[str, bool] | None] = {}
        self._loaded: dict[tuple[str, str], Mapping[str, Any]] = {}

    def __repr__(self) -> str:
        return f"VarsDir({self.base!r})"

    def group_vars(self, name: str) -> Mapping[str, Any]:
        """Variables for group ``name`` from ``group_vars/`` (empty when there are none)."""
        return self._vars("group_vars", name)

    def host_vars(self, name: str) -> Mapping[str, Any]:
        """Variables for host ``name`` from ``host_vars/`` (empty when there are none)."""
        return self._vars("host_vars", name)

    def entities(self, kind: str) -> list[str]:
        """The names ``kind`` (``group_vars``/``host_vars``) has variables for."""
        names = []
        for entry in self._listing(kind) or ():
            stem, extension = os.path.splitext(entry)
            names.append(stem if extension in VARS_EXTENSIONS else entry)
        return sorted(set(names))

    def files(self, kind: str, name: str) -> list[str]:
        """The files ``kind`` (``group_vars``/``host_vars``) holds for ``name``, in load order."""
        listing = self._listing(kind)
        # A name like /srv/chroot is a path, not a file name (Ansible skips it too).
        if not listing or name.startswith(os.sep):
            return []
        for extension in ("", *VARS_EXTENSIONS):
            entry = name + extension
            if entry in listing:
                path = os.path.join(self.base, kind, entry)
                if listing[entry]:
                    return _directory_files(path)
                return [path] if os.path.exists(path) else []
        return []

    def _vars(self, kind: str, name: str) -> Mapping[str, Any]:
        if not self._listing(kind):
            return _EMPTY
        key = (kind, name)
        loaded = self._loaded.get(key)
        if loaded is None:
            loaded = _EMPTY
            files = self.files(kind, name)
            if not files:
                return loaded  # the common case: nothing to read, nothing to remember
            for path in files:
                data = unmark(load_data(path, read_text(path), self._warn))
                if not data:
                    continue
                if not isinstance(data, dict):
                    raise InventoryError(
                        f"a variables file must hold a mapping, not a {type(data).__name__}",
                        location=Location(path, 1),
                    )
                loaded = {**loaded, **data}
            self._loaded[key] = loaded
        return loaded

    def _listing(self, kind: str) -> dict[str, bool] | None:
        """Entry name -> is a directory, for ``base/kind``; None when there is no such dir."""
        if kind not in self._listings:
            path = os.path.join(self.base, kind)
            listing: dict[str, bool] | None = None
            try:
                with os.scandir(path) as entries:
                    listing = {entry.name: entry.is_dir() for entry in entries}
            except NotADirectoryError:
                self._warn(f"{path} is not a directory; skipping it")
            except OSError:
                listing = None
            self._listings[kind] = listing
        return self._listings[kind]


def _directory_files(path: str) -> list[str]:
    found = []
    for name in sorted(os.listdir(path)):
        if name.startswith(".") or name.endswith("~"):
            continue
        full = os.path.join(path, name)
        extension = os.path.splitext(name)[1]
        if not extension and os.path.isdir(full):
            found.extend(_directory_files(full))
        elif os.path.isfile(full) and (not extension or extension in VARS_EXTENSIONS):
            found.append(full)
    return found
