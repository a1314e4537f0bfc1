"""``corral vault``: ansible-vault's encrypt, decrypt, view, edit, create, rekey, encrypt_string.

The file format and the reading of vault files while loading playbooks and inventories
are the core's (:mod:`corral.vault`); this plugin adds the command that manages the
files, through ``corral_register_commands`` as a third party would add its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from corral import hookimpl

if TYPE_CHECKING:
    import click


@hookimpl
def corral_register_commands(cli: click.Group) -> None:
    """Add ``corral vault`` and its subcommands."""
    from corral_plugins.vault.commands import vault_group

    cli.add_command(vault_group)
