"""Writing the files ``corral new`` makes: names checked first, never overwriting."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path

import click

F = Callable[..., object]

# A playbook or plugin name that is also a file stem and (for plugins) part of a
# Python module name: lower-case letters, digits, '-' and '_', a letter first.
NAME = re.compile(r"^[a-z][a-z0-9_-]*$")
NAME_RULE = "a lower-case letter first, then lower-case letters, digits, '-' or '_'"


def check_name(kind: str, name: str) -> None:
    """Refuse a name that cannot be a file stem (or module name), saying what is allowed."""
    from corral.errors import UsageError

    if not NAME.match(name):
        raise UsageError(f"invalid {kind} name {name!r}", hint=f"use {NAME_RULE}, e.g. 'web-app'")


def write_tree(target: Path, files: Mapping[str, str], *, force: bool = False) -> list[str]:
    """Write ``files`` (relative path -> text) under ``target``; return the paths kept.

    Every path is checked before anything is written, so a refused call leaves the
    disk as it was. With ``force`` the files that exist are kept as they are and
    only the missing ones are written.
    """
    from corral.errors import UsageError

    existing = [relative for relative in files if (target / relative).exists()]
    if existing and not force:
        raise UsageError(
            f"{target / existing[0]} already exists; not overwriting it",
            hint="choose another name or directory, or --force to add only the missing files",
        )
    for relative, text in files.items():
        path = target / relative
        if relative in existing:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        if relative.endswith(".sh"):
            path.chmod(0o755)
    return existing


def report(kind: str, name: str, target: Path, kept: list[str]) -> None:
    """Say what was made, and which existing files ``--force`` left alone."""
    click.echo(f"created {kind} {name} in {target}")
    for relative in kept:
        click.echo(f"kept existing {relative}")


def path_option(help_text: str) -> Callable[[F], F]:
    """The ``--path DIR`` option of every ``corral new`` kind that writes under a directory."""
    return click.option(
        "--path",
        "init_path",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("."),
        show_default=True,
        help=help_text,
    )
