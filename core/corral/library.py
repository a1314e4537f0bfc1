"""The library of ready playbooks that ``corral new playbook --from`` copies.

The library is the repository's ``playbooks/`` directory. A wheel ships it as
package data, ``corral/playbooks`` (pyproject's hatch ``force-include``); a
source checkout or an editable install reads ``playbooks/`` beside ``core/``.
Templates are found by listing the directory, so a playbook added to the
library is a template without any change here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml


@dataclass(frozen=True)
class Template:
    """One library playbook: its name (the file stem), file and one-line description."""

    name: str
    path: Path
    description: str


def library_dir() -> Path | None:
    """Where the library is: the installed package data, else the source tree's ``playbooks/``."""
    packaged = Path(str(resources.files("corral"))) / "playbooks"
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[2] / "playbooks"
    return checkout if checkout.is_dir() else None


def templates(root: Path) -> list[Template]:
    """Every playbook at the top of ``root`` (a YAML list of plays), by name."""
    found = []
    for path in sorted(root.glob("*.yml")):
        plays = load_yaml(path)
        if isinstance(plays, list) and plays and all(isinstance(p, dict) for p in plays):
            found.append(Template(path.stem, path, describe(path.read_text("utf-8"), plays)))
    return found


def load_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text("utf-8"))
    except (OSError, yaml.YAMLError):
        return None  # not a template: listing the others is more useful than failing


def describe(text: str, plays: list[Any]) -> str:
    """A ``description:`` on the first play, else the first sentence of the leading comment."""
    if isinstance(plays[0].get("description"), str):
        return " ".join(plays[0]["description"].split())
    lines = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        words = line.lstrip("#").strip()
        if not words:  # a blank comment line ends the first paragraph
            break
        lines.append(words)
    paragraph = " ".join(lines)
    sentence = re.match(r"(.+?[.!?])(?:\s|$)", paragraph)
    first = sentence.group(1) if sentence else paragraph
    return first.removesuffix(":").strip()


def roles_used(plays: Any, roles_dir: Path) -> list[str]:
    """The roles a playbook uses (``roles:``, import/include_role, and their dependencies).

    Only roles that exist in ``roles_dir`` are returned: others come from a roles
    path or a collection, which is the user's to install.
    """
    wanted = list(_role_names(plays))
    found: list[str] = []
    while wanted:
        name = wanted.pop(0)
        role = roles_dir / name
        if name in found or not role.is_dir():
            continue
        found.append(name)
        for part in ("meta/main.yml", "tasks/main.yml", "handlers/main.yml"):
            if (role / part).is_file():
                wanted.extend(_role_names(load_yaml(role / part)))
    return found


def _role_names(node: Any) -> Iterator[str]:
    """Role names under any ``roles:``/``dependencies:`` list or import/include_role step."""
    if isinstance(node, list):
        for item in node:
            yield from _role_names(item)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        short = str(key).rsplit(".", 1)[-1]
        if short in ("roles", "dependencies") and isinstance(value, list):
            for entry in value:
                yield from _static(
                    entry.get("role", entry.get("name")) if isinstance(entry, dict) else entry
                )
        elif short in ("import_role", "include_role") and isinstance(value, dict):
            yield from _static(value.get("name"))
        else:
            yield from _role_names(value)


def _static(name: Any) -> Iterator[str]:
    # A templated name ("{{ role }}") is only known at run time: nothing to copy.
    if isinstance(name, str) and "{{" not in name and "/" not in name:
        yield name


def files_used(plays: Any, root: Path) -> list[str]:
    """Files under ``root`` the playbook names by a relative path (templates, vars files...)."""
    found: set[str] = set()
    for text in _strings(plays):
        if "{{" in text or "\n" in text or text.startswith(("/", "~")) or len(text) > 200:
            continue
        path = (root / text).resolve()
        if path.is_file() and path.is_relative_to(root.resolve()) and ".." not in text:
            found.add(path.relative_to(root.resolve()).as_posix())
    return sorted(found)


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
