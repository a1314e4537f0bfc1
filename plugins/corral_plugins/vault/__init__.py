"""``corral vault``: ansible-vault's encrypt, decrypt, view, edit, create, rekey, encrypt_string.

The file format and the reading of vault files while loading playbooks and inventories
are the core's (:mod:`corral.vault`); this plugin adds the command that manages the
files, through ``corral_register_commands`` as a third party would add its own.

The subcommands live in :mod:`.commands` and are imported only when ``corral vault``
runs: every ``corral`` command builds the command tree, and the vault code (key
derivation, password sources) would otherwise cost each ``corral run`` start-up time.
"""

from __future__ import annotations

import os

import click

from corral import hookimpl

# Subcommand name -> function name in corral_plugins.vault.commands.
SUBCOMMANDS = {
    name: f"{name}_command"
    for name in ("encrypt", "decrypt", "view", "edit", "create", "rekey", "encrypt_string")
}


class VaultGroup(click.Group):
    """``corral vault``, whose subcommands are imported when it is used (click's lazy group)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(SUBCOMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in SUBCOMMANDS:
            return None
        from corral_plugins.vault import commands

        command = getattr(commands, SUBCOMMANDS[cmd_name])
        assert isinstance(command, click.Command)
        return command


@click.group("vault", cls=VaultGroup)
def vault_group() -> None:
    """Encrypt and decrypt Ansible Vault files and values (as ansible-vault).

    Files and strings written here are read by ansible-vault and ansible-playbook,
    and corral reads theirs. Passwords come from --vault-id, --vault-password-file,
    --ask-vault-pass, ANSIBLE_VAULT_PASSWORD_FILE or ANSIBLE_VAULT_IDENTITY_LIST; with
    none of them, corral vault asks for one.
    """
    os.umask(0o077)  # as ansible-vault: whatever a subcommand writes is private


@hookimpl
def corral_register_commands(cli: click.Group) -> None:
    """Add ``corral vault`` and its subcommands."""
    cli.add_command(vault_group)
