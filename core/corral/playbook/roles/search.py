"""Where roles are found, in Ansible's order.

A plain name (``web``) is looked for in ``roles/`` next to the playbook, the
``roles_path`` setting (``ANSIBLE_ROLES_PATH`` first, then what
:func:`set_roles_path` was given, e.g. from ``ansible.cfg``), the default
``~/.ansible/roles:/usr/share/ansible/roles:/etc/ansible/roles``, then the
playbook's own directory. A name with two dots (``ns.coll.role``) names a role
of an installed collection: ``ansible_collections/ns/coll/roles/role`` below a
collections path. ``ansible-galaxy role install`` puts roles in a roles path as
``namespace.role`` (or ``role``), which a plain name finds.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from corral.errors import Location, PlaybookError, did_you_mean

__all__ = [
    "collection_dirs",
    "collection_of",
    "find_role",
    "role_dirs",
    "role_environ",
    "roles_path",
    "set_collections_path",
    "set_roles_path",
]

DEFAULT_ROLES_PATH = ("~/.ansible/roles", "/usr/share/ansible/roles", "/etc/ansible/roles")
DEFAULT_COLLECTIONS_PATH = ("~/.ansible/collections", "/usr/share/ansible/collections")

_configured: list[str] = []
_configured_collections: list[str] = []  # ansible.cfg's collections_path


ENVIRONMENT = (
    "ANSIBLE_ROLES_PATH",
    "ANSIBLE_COLLECTIONS_PATH",
    "ANSIBLE_COLLECTIONS_PATHS",
    "HOME",
)


def role_environ(environ: Mapping[str, str] | None) -> dict[str, str]:
    """The part of ``environ`` role search reads, to keep with a loaded playbook."""
    env = os.environ if environ is None else environ
    return {k: env[k] for k in ENVIRONMENT if k in env}


def set_roles_path(paths: Sequence[str | Path]) -> None:
    """Set the ``roles_path`` setting (``ansible.cfg`` ``[defaults] roles_path``).

    ``ANSIBLE_ROLES_PATH`` still comes first, as in Ansible where the
    environment overrides the configuration file.
    """
    _configured[:] = [str(p) for p in paths]


def set_collections_path(paths: Sequence[str | Path]) -> None:
    """Set the ``collections_path`` setting (``ansible.cfg``); ``ANSIBLE_COLLECTIONS_PATH`` wins."""
    _configured_collections[:] = [str(p) for p in paths]


def _expand(path: str, env: Mapping[str, str]) -> Path:
    """``~`` is the HOME of ``env`` (a test or a server passes its own environment)."""
    if path.startswith("~") and env.get("HOME"):
        return Path(env["HOME"] + path[1:])
    return Path(os.path.expanduser(path))


def _split(value: str) -> list[str]:
    return [part for part in value.split(os.pathsep) if part]


def roles_path(environ: Mapping[str, str] | None = None) -> list[Path]:
    """The roles path: the environment's, else the setting's, else Ansible's default."""
    env = os.environ if environ is None else environ
    parts = _split(env.get("ANSIBLE_ROLES_PATH", "")) or _configured or list(DEFAULT_ROLES_PATH)
    return [_expand(p, env) for p in parts]


def role_dirs(playbook_dir: Path, environ: Mapping[str, str] | None = None) -> list[Path]:
    """Every directory a plain role name is looked for in, in order."""
    dirs = [playbook_dir / "roles", *roles_path(environ), playbook_dir]
    return list(dict.fromkeys(dirs))


def collection_dirs(playbook_dir: Path, environ: Mapping[str, str] | None = None) -> list[Path]:
    """Where installed collections live: ``ansible_collections/`` is below each of these."""
    env = os.environ if environ is None else environ
    configured = _split(
        env.get("ANSIBLE_COLLECTIONS_PATH", "") or env.get("ANSIBLE_COLLECTIONS_PATHS", "")
    )
    parts = [
        str(playbook_dir / "collections"),
        *(configured or _configured_collections or DEFAULT_COLLECTIONS_PATH),
    ]
    return list(dict.fromkeys(_expand(p, env) for p in parts))


def collection_of(role_path: Path) -> str | None:
    """``ns.coll`` when ``role_path`` is ``.../ansible_collections/ns/coll/roles/NAME``."""
    parts = role_path.parts
    if len(parts) >= 5 and parts[-5] == "ansible_collections" and parts[-2] == "roles":
        return f"{parts[-4]}.{parts[-3]}"
    return None


def _candidates(name: str, playbook_dir: Path, environ: Mapping[str, str] | None) -> list[Path]:
    parts = name.split(".")
    if len(parts) == 3 and all(parts):
        namespace, collection, role = parts
        return [
            base / "ansible_collections" / namespace / collection / "roles" / role
            for base in collection_dirs(playbook_dir, environ)
        ]
    if "/" in name or name.startswith("~"):
        path = _expand(name, os.environ if environ is None else environ)
        return [path if path.is_absolute() else playbook_dir / path]
    return [base / name for base in role_dirs(playbook_dir, environ)]


def find_role(
    name: str,
    playbook_dir: Path,
    where: Location,
    environ: Mapping[str, str] | None = None,
    collections: Sequence[str] = (),
) -> Path:
    """The directory of role ``name``; else an error naming the paths searched.

    ``collections`` (the play's ``collections:`` keyword, and the collection of the
    role whose dependency this is) are tried for a short name after the roles path.
    """
    candidates = _candidates(name, playbook_dir, environ)
    if "." not in name and "/" not in name:
        for collection in collections:
            candidates += _candidates(f"{collection}.{name}", playbook_dir, environ)
    for path in candidates:
        if os.path.isdir(path):
            return path
    known = sorted(
        {
            entry.name
            for base in role_dirs(playbook_dir, environ)
            if os.path.isdir(base)
            for entry in base.iterdir()
            if (entry / "tasks").is_dir() or (entry / "meta").is_dir()
        }
    )
    searched = ", ".join(
        dict.fromkeys(str(p.parent if len(candidates) > 1 else p) for p in candidates)
    )
    hint = did_you_mean(name, known)
    raise PlaybookError(
        f"role {name!r} not found (searched {searched})",
        hint=hint or "put it in roles/ next to the playbook or set ANSIBLE_ROLES_PATH",
        location=where,
    )
