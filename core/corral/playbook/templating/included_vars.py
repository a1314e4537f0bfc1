"""What an ``include_vars`` task defines, for the pre-run check of undefined variables.

The file (or directory) is found the way the step finds it at run time; the names it
holds count as defined for the whole play. A name that holds a template, or a file
that cannot be found, makes the answer unknowable (None).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from corral.errors import CorralError
from corral.playbook.model import Task

__all__ = ["INCLUDE_VARS_ACTIONS", "included_var_names"]

INCLUDE_VARS_ACTIONS = frozenset(
    {"include_vars", "ansible.builtin.include_vars", "ansible.legacy.include_vars"}
)


def _bases(task: Task, playbook_dir: Path) -> list[Path]:
    roles = (task.role, *task.role.parents) if task.role is not None else ()
    return [
        *(r.path for r in roles[:1]),
        Path(task.location.file).parent,
        *(r.path for r in roles[1:]),
        playbook_dir,
    ]


def _keys(path: Path) -> set[str]:
    from corral.playbook.yaml.load import load_yaml_file

    try:
        data = load_yaml_file(path, display_name=str(path))
    except CorralError:  # the step reports a bad file at run time
        return set()
    return {str(k) for k in data} if isinstance(data, Mapping) else set()


def included_var_names(task: Task, playbook_dir: Path) -> set[str] | None:
    """The variables ``task`` (an include_vars) sets, or None when that is only known later."""
    if task.args.get("name"):
        return {str(task.args["name"])}
    key = "file" if "file" in task.args else "dir"
    name = str(task.args.get(key, ""))
    if not name or "{{" in name or "{%" in name:
        return None
    for base in _bases(task, playbook_dir):
        for candidate in (base / "vars" / name, base / name):
            if key == "file" and os.path.isfile(candidate):
                return _keys(candidate)
            if key == "dir" and os.path.isdir(candidate):
                names: set[str] = set()
                for path in sorted(candidate.rglob("*")):
                    if path.suffix in (".yml", ".yaml", ".json") and os.path.isfile(path):
                        names |= _keys(path)
                return names
    return None
