"""The template files a ``template`` task renders, judged before the run like its arguments.

A static ``src`` is found where the step will find it (the role's ``templates/``
first, then next to the task file, then the playbook's), read, and every variable it
uses that no source defines is reported at the line of the template file that uses it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from corral.errors import Location, error_location
from corral.playbook.model import Task

if TYPE_CHECKING:
    from corral.playbook.templating.templar import Templar

__all__ = ["TEMPLATE_ACTIONS", "TEMPLATE_VARIABLES", "template_file", "template_uses"]

TEMPLATE_ACTIONS = frozenset({"template", "ansible.builtin.template", "ansible.legacy.template"})
# What the template step adds to the variables while it renders the file.
TEMPLATE_VARIABLES = frozenset(
    {"template_path", "template_fullpath", "template_destpath", "ansible_managed"}
)


def template_file(task: Task, playbook_dir: Path) -> Path | None:
    """The file a ``template`` task's static ``src`` names, searched as the step does."""
    src = task.args.get("src")
    if not isinstance(src, str) or "{{" in src or "{%" in src:
        return None
    if Path(src).is_absolute():
        return Path(src) if os.path.isfile(Path(src)) else None
    roles = (task.role, *task.role.parents) if task.role is not None else ()
    bases = [
        *(r.path for r in roles[:1]),
        Path(task.location.file).parent,
        *(r.path for r in roles[1:]),
        playbook_dir,
    ]
    for base in bases:
        for candidate in (base / "templates" / src, base / src):
            if os.path.isfile(candidate):
                return candidate
    return None


def _line_of(text: str, name: str) -> int | None:
    pattern = re.compile(rf"(?<![\w.]){re.escape(name)}(?!\w)")
    for number, line in enumerate(text.splitlines(), start=1):
        if ("{{" in line or "{%" in line or "%}" in line or "}}" in line) and pattern.search(line):
            return number
    return None


def template_uses(
    path: Path, templar: Templar, display: str
) -> Iterator[tuple[str, Location, str]]:
    """Each variable the template at ``path`` reads: (name, where, the template's text)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return  # the step reports an unreadable template at run time
    with error_location(Location(display, 1, 1)):  # a syntax error in the file is reported
        names = templar.variables_used(text)
    for name in sorted(names):
        yield name, Location(display, _line_of(text, name), None), text
