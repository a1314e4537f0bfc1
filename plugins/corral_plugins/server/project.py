"""What ``corral serve`` serves: a project directory's playbooks, inventory and triggers.

A project is a directory (default: the current one). Its playbooks are the ``*.yml``
files at its top and under ``playbooks/`` that hold plays; its inventory is what
``ansible.cfg`` there names, else the first of ``inventory/``, ``inventory.ini``,
``inventory.yml``, ``hosts`` or ``hosts.ini`` (:data:`INVENTORY_NAMES`). Workers run in
the project directory, so its ``ansible.cfg`` applies to them as it does to ``corral run``
typed there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corral.triggers import trigger_key

__all__ = ["Entry", "Project", "Served", "load_served", "project_inventory", "project_stamp"]

INVENTORY_NAMES = (
    "inventory",
    "inventory.ini",
    "inventory.yml",
    "inventory.yaml",
    "hosts",
    "hosts.ini",
    "hosts.yml",
    "hosts.yaml",
)


@dataclass(frozen=True)
class Entry:
    """One ``triggers:`` entry of a served playbook."""

    playbook: str
    key: str  # trigger_key(kind, args): the trigger's name in the store
    kind: str
    args: Mapping[str, Any]
    play: str


@dataclass(frozen=True)
class Served:
    """A playbook of the project that loaded, with its triggers and params."""

    name: str  # relative to the project
    playbook: Any  # corral.playbook.model.Playbook
    entries: tuple[Entry, ...]
    # Collected once when loaded: every webhook delivery and API start checks against it.
    params: Mapping[str, Any]  # name -> corral.playbook.params.ParamSpec


@dataclass
class Project:
    """The project directory and what loading it last found."""

    root: Path
    served: dict[str, Served] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # playbook -> one-line error


def load_served(root: Path, registry: Any, environ: Mapping[str, str]) -> Project:
    """Load every playbook of the project; one that does not load is an error, not fatal."""
    from corral.commands.triggers import load_playbooks
    from corral.errors import CorralError
    from corral.playbook.params import collect_params

    loaded, failed = load_playbooks(root, registry, environ)
    project = Project(root=root)
    for name, playbook in loaded:
        entries = tuple(
            Entry(name, trigger_key(t.kind, t.args), t.kind, dict(t.args), play.name)
            for play in playbook.plays
            for t in play.triggers
        )
        try:  # the same name declared two ways: no run of it could start
            params = collect_params(playbook.plays)
        except CorralError as clash:
            failed.append((name, clash))
            continue
        project.served[name] = Served(name, playbook, entries, params)
    for name, exc in failed:
        project.errors[name] = str(exc) + (f" (hint: {exc.hint})" if exc.hint else "")
    return project


def project_inventory(root: Path, environ: Mapping[str, str]) -> list[str]:
    """The ``-i`` a worker needs: none when ``ansible.cfg`` or ``$CORRAL_INVENTORY`` names
    one, else the first of :data:`INVENTORY_NAMES` in the project."""
    from corral.ansible_cfg import load_settings

    if environ.get("CORRAL_INVENTORY", "").strip() or load_settings(environ, root).inventory:
        return []
    for name in INVENTORY_NAMES:
        if (root / name).exists():
            return [str(root / name)]
    return []


def project_stamp(root: Path, project: Project) -> tuple[tuple[str, float], ...]:
    """The project's YAML files and the files its playbooks load, with modification
    times: stat calls only (deciding which YAML is a playbook means reading it)."""
    candidates = [
        path
        for directory in (root, root / "playbooks")
        for pattern in ("*.yml", "*.yaml")
        for path in directory.glob(pattern)
    ]
    files = {str(p): p for p in candidates}
    for served in project.served.values():
        for path in getattr(served.playbook, "files", ()) or ():
            files[str(path)] = Path(path)
    stamps = []
    for name, path in sorted(files.items()):
        try:
            stamps.append((name, path.stat().st_mtime))
        except OSError:
            stamps.append((name, 0.0))
    return tuple(stamps)
