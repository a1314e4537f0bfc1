"""``corral new``: scaffold new content; ``corral new role NAME`` lays out a role.

``new`` is a click group: ``project``, ``playbook`` and ``plugin`` live in modules
of their own (new_project, new_playbook, new_plugin) and are added at the end.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click

from corral.commands.scaffold import path_option

# A role name as ansible-galaxy accepts it: letters, digits, underscores; an
# optional "namespace." prefix.
ROLE_NAME = re.compile(r"^(?:[a-z0-9_]+\.)?[A-Za-z0-9_][A-Za-z0-9_-]*$")

ROLE_FILES = {
    "tasks/main.yml": "---\n# tasks file for {name}\n",
    "handlers/main.yml": "---\n# handlers file for {name}\n",
    "defaults/main.yml": "---\n# defaults file for {name}: the lowest precedence variables\n",
    "vars/main.yml": "---\n# vars file for {name}: above inventory and play vars\n",
    "meta/main.yml": (
        "---\n"
        "galaxy_info:\n"
        "  role_name: {short}\n"
        "  author: your name\n"
        "  description: what {short} does\n"
        "  license: MIT\n"
        '  min_ansible_version: "2.15"\n'
        "dependencies: []\n"
    ),
    "templates/.gitkeep": "",
    "files/.gitkeep": "",
    "README.md": (
        "# {short}\n\n"
        "What this role does.\n\n"
        "## Variables\n\n"
        "Defaults are in `defaults/main.yml`.\n\n"
        "## Example\n\n"
        "```yaml\n"
        "- hosts: all\n"
        "  roles:\n"
        "    - {name}\n"
        "```\n"
    ),
}


@click.group("new")
def new_group() -> None:
    """Create new content from a template."""


@new_group.command("role")
@click.argument("name")
@path_option("The directory to create the role in (e.g. roles).")
@click.pass_obj
def new_role_command(obj: Any, name: str, init_path: Path) -> int:
    """Create role NAME: tasks, handlers, defaults, vars, meta, templates, files, README.

    The layout is the one ansible-galaxy's ``role init`` makes, without the test
    scaffolding. An existing directory is never overwritten.
    """
    from corral.errors import UsageError

    if not ROLE_NAME.match(name):
        raise UsageError(
            f"invalid role name {name!r}",
            hint="use letters, digits and underscores, optionally prefixed with 'namespace.'",
        )
    target = init_path / name
    if target.exists():
        raise UsageError(
            f"{target} already exists; not overwriting it",
            hint="choose another name, or --path for another directory",
        )
    short = name.rsplit(".", 1)[-1]
    for relative, text in ROLE_FILES.items():
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.format(name=name, short=short), encoding="utf-8")
    click.echo(f"created role {name} in {target}")
    return 0


def _add_kinds() -> None:
    from corral.commands.new_playbook import new_playbook_command
    from corral.commands.new_plugin import new_plugin_command
    from corral.commands.new_project import new_project_command

    for command in (new_project_command, new_playbook_command, new_plugin_command):
        new_group.add_command(command)


_add_kinds()
