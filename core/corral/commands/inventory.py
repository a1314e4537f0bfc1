"""``corral inventory``: show the inventory as corral reads it, as ``ansible-inventory`` does."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from corral.commands.vault_options import vault_options
from corral.errors import UsageError

if TYPE_CHECKING:
    from corral.inventory import Inventory

__all__ = ["inventory"]


@click.command("inventory")
@click.option(
    "-i",
    "--inventory",
    "sources",
    multiple=True,
    metavar="SOURCE",
    help="Inventory file, directory, script or host list (repeatable). "
    "Default: $CORRAL_INVENTORY, else ./inventory/.",
)
@click.option("--list", "list_", is_flag=True, help="Print every group and host, as JSON.")
@click.option("--host", metavar="HOST", help="Print the variables of one host.")
@click.option(
    "--graph",
    metavar="[GROUP]",
    is_flag=False,
    flag_value="all",
    default=None,
    help="Print the group tree below GROUP (default: all).",
)
@click.argument("group", required=False)
@click.option("--vars", "show_vars", is_flag=True, help="With --graph: show variables too.")
@click.option("-y", "--yaml", "as_yaml", is_flag=True, help="Print YAML instead of JSON.")
@click.option(
    "-l", "--limit", metavar="PATTERN", help="With --list: only hosts matching PATTERN or @FILE."
)
@click.option(
    "--output",
    "output_file",
    type=click.Path(dir_okay=False),
    help="With --list: write to this file instead of standard output.",
)
@click.option(
    "--playbook-dir",
    type=click.Path(file_okay=False),
    help="Also read group_vars/ and host_vars/ next to this playbook directory.",
)
@vault_options
def inventory(
    *,
    sources: tuple[str, ...],
    list_: bool,
    host: str | None,
    graph: str | None,
    group: str | None,
    show_vars: bool,
    as_yaml: bool,
    limit: str | None,
    output_file: str | None,
    playbook_dir: str | None,
) -> int:
    """Show the inventory: groups, hosts and variables, as ansible-inventory shows them.

    Exactly one of --list, --host or --graph. Exit code 4 for an inventory that
    cannot be read.
    """
    from corral.inventory import load_inventory
    from corral.inventory.output import graph_text, host_data, list_data, yaml_list_data

    actions = [
        name for name, used in (("--list", list_), ("--host", host), ("--graph", graph)) if used
    ]
    if len(actions) != 1:
        raise UsageError(
            "give exactly one of --list, --host or --graph"
            + (f" (got {', '.join(actions)})" if actions else ""),
            hint="e.g. corral inventory -i hosts.ini --list",
        )
    state = _cli_state()
    environ = getattr(state, "environ", None)
    if not sources and environ is not None:
        # No -i: $CORRAL_INVENTORY, else ansible.cfg's inventory (or $ANSIBLE_INVENTORY).
        from corral.commands.connect import inventory_sources
        from corral.commands.options import load_ansible_settings

        sources = tuple(inventory_sources(sources, load_ansible_settings(environ), environ))
    loaded = load_inventory(
        sources,
        plugin_sources=tuple(getattr(getattr(state, "registry", None), "inventory_sources", ())),
        playbook_dir=Path(playbook_dir) if playbook_dir else None,
        environ=environ,
    )
    if host is not None:
        text = _dump(host_data(loaded, _single_host(loaded, host)), as_yaml)
    elif graph is not None:
        start = group if group and graph == "all" else graph
        if start not in loaded.groups:
            raise UsageError(f"--graph needs a group name; {start!r} is not a group")
        text = graph_text(loaded, start, with_vars=show_vars)
    else:
        listing = yaml_list_data if as_yaml else list_data
        text = _dump(listing(loaded, limit=limit), as_yaml)
    for warning in loaded.warnings:
        click.echo(f"warning: {warning}", err=True)
    if output_file is None:
        click.echo(text)
    else:
        _write(output_file, text)
    return 0


def _cli_state() -> Any:
    """The CLI's shared state (registry and environment), when run under ``corral``."""
    context = click.get_current_context(silent=True)
    return context.find_root().obj if context is not None else None


def _single_host(loaded: Inventory, pattern: str) -> str:
    """``--host`` takes a pattern that must match exactly one host, as in Ansible."""
    matched = loaded.select(pattern)
    if len(matched) != 1:
        import difflib

        close = difflib.get_close_matches(pattern, loaded.hosts, n=3)
        raise UsageError(
            f"--host needs exactly one host; {pattern!r} matches "
            + (f"{len(matched)}" if matched else "none"),
            hint=f"did you mean {', '.join(map(repr, close))}?" if close else None,
        )
    return matched[0]


def _dump(data: Any, as_yaml: bool) -> str:
    from corral.inventory.output import to_json, to_yaml

    return to_yaml(data) if as_yaml else to_json(data)


def _write(path: str, text: str) -> None:
    try:
        with open(os.path.expanduser(path), "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from exc
