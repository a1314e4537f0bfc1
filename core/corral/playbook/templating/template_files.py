"""Where a ``template`` task's static ``src`` is, found as the step finds it.

A role's task looks in its role first (``templates/``, then the role directory), then
next to the task file, then in the roles that included it, then in the playbook's
``templates/`` and directory.
"""

from __future__ import annotations

import os
from pathlib import Path

from corral.playbook.model import Task

__all__ = ["template_file"]


def template_file(task: Task, playbook_dir: Path) -> Path | None:
    """The file a ``template`` task's static ``src`` names, or None."""
    src = task.args.get("src")
    if not isinstance(src, str) or "{{" in src or "{%" in src:
        return None
    candidate = Path(src)
    if candidate.is_absolute():
        # os.path.isfile answers False for a name no file can have (too long, a NUL byte).
        return candidate if os.path.isfile(candidate) else None
    roles = (task.role, *task.role.parents) if task.role is not None else ()
    bases = [
        *(r.path for r in roles[:1]),
        Path(task.location.file).parent,
        *(r.path for r in roles[1:]),
        playbook_dir,
    ]
    for base in dict.fromkeys(bases):
        for path in (base / "templates" / src, base / src):
            if os.path.isfile(path):
                return path
    return None
