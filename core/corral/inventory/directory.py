"""Inventory directories: every file in them is a source, as Ansible reads directories.

Entries are taken in sorted order; hidden entries, ``group_vars``,
``host_vars``, ``vars_plugins`` and files with Ansible's ignored extensions
(``.md``, ``.txt``, ``.bak``, ``~``, ``.orig``, ``.cfg``, ``.retry``, ...) are
skipped; subdirectories are read the same way.
"""

from __future__ import annotations

import os
import re

__all__ = ["IGNORED_EXTENSIONS", "directory_entries"]

IGNORED_EXTENSIONS = (
    ".pyc", ".pyo", ".swp", ".bak", "~", ".rpm", ".md", ".txt", ".rst", ".orig", ".cfg", ".retry",
)  # fmt: skip
_IGNORED = re.compile(
    "|".join(
        [r"^\.", "^host_vars$", "^group_vars$", "^vars_plugins$"]
        + [re.escape(extension) + "$" for extension in IGNORED_EXTENSIONS]
    )
)


def directory_entries(path: str) -> list[str]:
    """The paths under directory ``path`` that are inventory sources, in reading order."""
    return [
        os.path.join(path, name) for name in sorted(os.listdir(path)) if not _IGNORED.search(name)
    ]
