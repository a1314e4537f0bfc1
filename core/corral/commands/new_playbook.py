"""``corral new playbook NAME [--from TEMPLATE]``, and ``--list`` of the library's templates."""

from __future__ import annotations

import difflib
import shutil
from pathlib import Path
from typing import Any

import click

from corral.commands.scaffold import path_option

MINIMAL = """\
# {name}: what this playbook does, in one sentence (corral new playbook --list shows it).
#
#   corral check {name}.yml
#   corral run {name}.yml -p greeting=hi
#   corral run --help-params {name}.yml
- name: {name}
  hosts: all
  params:
    greeting:
      type: string
      default: hello
      minLength: 1
      description: what each host says
  tasks:
    - name: Say the greeting
      debug:
        msg: "{{{{ greeting }}}} from {{{{ inventory_hostname }}}}"
"""


@click.command("playbook")
@click.argument("name", required=False)
@click.option("--from", "template", metavar="TEMPLATE", help="Copy a library playbook (--list).")
@click.option("--list", "list_only", is_flag=True, help="List the templates and exit.")
@path_option("The directory to write NAME.yml (and roles/) in.")
def new_playbook_command(
    name: str | None, template: str | None, list_only: bool, init_path: Path
) -> int:
    """Create playbook NAME.yml: a minimal one with typed params, or a copy of TEMPLATE.

    A template is any playbook of corral's library; the roles it uses are copied
    to roles/ beside it (an existing role is kept as it is). Nothing is overwritten.
    """
    from corral.commands.scaffold import check_name
    from corral.errors import UsageError

    if list_only:
        return _list()
    if name is None:
        raise UsageError("missing NAME", hint="corral new playbook NAME [--from TEMPLATE]")
    name = name.removesuffix(".yml")
    check_name("playbook", name)
    target = init_path / f"{name}.yml"
    if target.exists():
        raise UsageError(
            f"{target} already exists; not overwriting it",
            hint="choose another name, or --path for another directory",
        )
    if template is None:
        init_path.mkdir(parents=True, exist_ok=True)
        target.write_text(MINIMAL.format(name=name), encoding="utf-8")
        click.echo(f"created playbook {name} in {target}")
        return 0
    return _copy(template, name, target)


def _library() -> Path:
    from corral.errors import UsageError
    from corral.library import library_dir

    root = library_dir()
    if root is None:
        raise UsageError(
            "corral's playbook library is not installed",
            hint="reinstall corral from its wheel, or run it from a source checkout",
        )
    return root


def _list() -> int:
    from corral.library import templates

    root = _library()
    found = templates(root)
    width = max((len(t.name) for t in found), default=0)
    click.echo(f"templates in {root}:")
    for entry in found:
        click.echo(f"  {entry.name:<{width}}  {entry.description}")
    return 0


def _copy(template: str, name: str, target: Path) -> int:
    from corral.errors import UsageError
    from corral.library import files_used, load_yaml, roles_used, templates

    root = _library()
    by_name = {t.name: t for t in templates(root)}
    chosen = by_name.get(template.removesuffix(".yml"))
    if chosen is None:
        close = difflib.get_close_matches(template, by_name, n=1)
        guess = f"did you mean {close[0]!r}? " if close else ""
        raise UsageError(
            f"no playbook template {template!r}",
            hint=f"{guess}one of: {', '.join(by_name)} (corral new playbook --list)",
        )
    plays = load_yaml(chosen.path)
    destination = target.parent
    copies = [
        relative
        for relative in files_used(plays, root)
        if relative != chosen.path.name and not relative.startswith("roles/")
    ]
    clash = next((c for c in copies if (destination / c).exists()), None)
    if clash is not None:
        raise UsageError(
            f"{destination / clash} already exists; not overwriting it",
            hint="choose another --path, or move the file away",
        )
    destination.mkdir(parents=True, exist_ok=True)
    # The header's usage lines name the library path: point them at the copy.
    text = chosen.path.read_text("utf-8").replace(f"playbooks/{chosen.path.name}", target.name)
    target.write_text(text, encoding="utf-8")
    for relative in copies:
        (destination / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / relative, destination / relative)
    click.echo(f"created playbook {name} in {target} from {chosen.name}")
    for role in roles_used(plays, root / "roles"):
        if (destination / "roles" / role).exists():
            click.echo(f"kept existing role {role}")
            continue
        shutil.copytree(
            root / "roles" / role,
            destination / "roles" / role,
            ignore=shutil.ignore_patterns("__pycache__"),
        )
        click.echo(f"copied role {role}")
    for relative in copies:
        click.echo(f"copied {relative}")
    required = _required_params(plays)
    if required:
        values = " ".join(f"-p {param}=..." for param in required)
        click.echo(f"next: corral check {target} {values}  (params without a default)")
    return 0


def _required_params(plays: Any) -> list[str]:
    """The params a template declares without a default: a run must give them."""
    return [
        name
        for play in plays
        for name, spec in (play.get("params") or {}).items()
        if not (isinstance(spec, dict) and "default" in spec)
    ]
