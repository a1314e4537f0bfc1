"""The vault options every command that loads playbooks or inventories takes.

``--vault-id [LABEL@]SOURCE`` (repeatable), ``--vault-password-file FILE``
(``--vault-pass-file``, repeatable) and ``-J/--ask-vault-pass`` (``--ask-vault-password``),
as ``ansible-playbook`` spells them. :func:`vault_options` adds them to a click command
and, before the command runs, reads the passwords and makes them the active ones
(:func:`corral.vault.use_vault`), so the command's own code never sees them.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from corral.vault import VaultSecrets, VaultSources

__all__ = ["add_options", "ask_password", "command_environ", "load_vault_secrets", "vault_options"]

F = TypeVar("F", bound=Callable[..., Any])


def ask_password(prompt: str) -> str:
    """Ask on the terminal without echo (click's prompt, which tests can feed)."""
    value: str = click.prompt(prompt, hide_input=True, prompt_suffix="", show_default=False)
    return value


def warn(message: str) -> None:
    click.echo(f"warning: {message}", err=True)


def load_vault_secrets(
    sources: VaultSources, environ: Mapping[str, str] | None = None, *, new: bool = False
) -> VaultSecrets:
    """Read the passwords of ``sources`` and the configured ones (ansible.cfg, environment)."""
    from corral.ansible_cfg import ConfigError
    from corral.commands.options import load_ansible_settings
    from corral.vault import configure, configured
    from corral.vault.passwords import VaultConfig, read_passwords

    environ = os.environ if environ is None else environ
    # ansible.cfg's vault_password_file and vault_identity_list; ANSIBLE_* still win.
    try:
        settings = load_ansible_settings(environ)
    except ConfigError:
        pass  # the command reports a bad ansible.cfg itself, in its output's format
    else:
        password_file = settings.vault_password_file
        configure(
            VaultConfig(
                password_file=None if password_file is None else str(password_file),
                identity_list=tuple(settings.vault_identity_list),
            )
        )
    config = configured(environ)
    return read_passwords(sources.slugs(config), prompt=ask_password, new=new, warn=warn)


def add_options(func: F) -> F:
    """The options alone (``vault_ids``, ``vault_password_files``, ``ask_vault_pass``)."""
    func = click.option(
        "-J",
        "--ask-vault-pass",
        "--ask-vault-password",
        "ask_vault_pass",
        is_flag=True,
        help="Ask for the vault password.",
    )(func)
    func = click.option(
        "--vault-password-file",
        "--vault-pass-file",
        "vault_password_files",
        multiple=True,
        metavar="FILE",
        help="Vault password file, or an executable that prints the password; repeatable.",
    )(func)
    return click.option(
        "--vault-id",
        "vault_ids",
        multiple=True,
        metavar="[LABEL@]SOURCE",
        help="A vault identity: LABEL@FILE, LABEL@SCRIPT or LABEL@prompt; repeatable.",
    )(func)


def command_environ() -> Mapping[str, str]:
    """The environment the CLI was started with (``CliState.environ``), else the process's."""
    context = click.get_current_context(silent=True)
    state = context.find_root().obj if context is not None else None
    environ = getattr(state, "environ", None)
    return environ if environ is not None else os.environ


def vault_options(func: F) -> F:
    """Add the vault options to a command and activate its passwords before it runs."""

    @functools.wraps(func)
    def wrapper(
        *args: Any,
        vault_ids: tuple[str, ...] = (),
        vault_password_files: tuple[str, ...] = (),
        ask_vault_pass: bool = False,
        **kwargs: Any,
    ) -> Any:
        environ = command_environ()
        if not (vault_ids or vault_password_files or ask_vault_pass) and not _configured(environ):
            _forget_passwords()
            return func(*args, **kwargs)
        # Imported here: every command module imports this one, and most runs use no vault.
        from corral.vault import VaultSources, use_vault

        sources = VaultSources(tuple(vault_ids), tuple(vault_password_files), ask_vault_pass)
        use_vault(load_vault_secrets(sources, environ))
        return func(*args, **kwargs)

    return add_options(wrapper)  # type: ignore[return-value]


def _configured(environ: Mapping[str, str]) -> bool:
    """Whether the environment or ``ansible.cfg`` name a vault password source."""
    from corral.ansible_cfg import ConfigError
    from corral.commands.options import load_ansible_settings

    if environ.get("ANSIBLE_VAULT_PASSWORD_FILE") or environ.get("ANSIBLE_VAULT_IDENTITY_LIST"):
        return True
    try:
        settings = load_ansible_settings(environ)
    except ConfigError:
        return True  # let load_vault_secrets meet it, as it does with a configured vault
    return bool(settings.vault_password_file or settings.vault_identity_list)


def _forget_passwords() -> None:
    """No vault for this command: drop the passwords an earlier command in this process set.

    Without a password source there is nothing to read, so corral.vault (key derivation,
    password scripts) is not imported at all: a run with no vault starts faster.
    """
    vault = sys.modules.get("corral.vault")
    if vault is not None:
        vault.use_vault(vault.VaultSecrets())
        vault.configure(vault.VaultConfig())
