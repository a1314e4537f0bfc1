"""The ``corral vault`` subcommands, with ansible-vault's names, options and output."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from corral.commands.vault_options import add_options, command_environ, load_vault_secrets
from corral.errors import UsageError
from corral.vault import VaultError, VaultPassword, VaultSecrets, VaultSources, use_vault
from corral.vault.crypto import WrongPassword, decrypt, encrypt, parse_envelope
from corral_plugins.vault.files import (
    edit_plaintext,
    encrypt_bytes,
    read_input,
    replace_keeping_mode,
    write_output,
)

F = TypeVar("F", bound=Callable[..., Any])


def _secrets(kwargs: dict[str, Any], *, new: bool = False) -> VaultSecrets:
    """The passwords the options give, asking for one when none is given (as ansible-vault)."""
    sources = VaultSources(
        tuple(kwargs.pop("vault_ids")),
        tuple(kwargs.pop("vault_password_files")),
        bool(kwargs.pop("ask_vault_pass")),
    )
    secrets = load_vault_secrets(sources, command_environ(), new=new)
    if not secrets:
        secrets = load_vault_secrets(VaultSources(ask=True), {}, new=new)
    use_vault(secrets)
    return secrets


def _encrypt_id_option(func: F) -> F:
    return click.option(
        "--encrypt-vault-id",
        metavar="LABEL",
        help="The vault id to encrypt with, when several are given.",
    )(func)


def _output_option(func: F) -> F:
    return click.option(
        "--output",
        "output_file",
        metavar="FILE",
        help="Write the result here ('-' for standard output) instead of in place.",
    )(func)


def _plaintext(name: str, secrets: VaultSecrets) -> bytes:
    plaintext, _ = _decrypt_with(read_input(name), secrets, name)
    return plaintext


@click.command("encrypt")
@click.argument("files", nargs=-1)
@_encrypt_id_option
@_output_option
@add_options
def encrypt_command(
    files: tuple[str, ...], encrypt_vault_id: str | None, output_file: str | None, **kwargs: Any
) -> int:
    """Encrypt FILES in place (or standard input to standard output)."""
    password = _secrets(kwargs, new=True).for_encrypting(encrypt_vault_id)
    for name in files or ("-",):
        envelope = encrypt_bytes(read_input(name), password)
        write_output(envelope.encode(), output_file or name)
    _done("Encryption successful")
    return 0


@click.command("decrypt")
@click.argument("files", nargs=-1)
@_output_option
@add_options
def decrypt_command(files: tuple[str, ...], output_file: str | None, **kwargs: Any) -> int:
    """Decrypt FILES in place (or standard input to standard output)."""
    secrets = _secrets(kwargs)
    for name in files or ("-",):
        write_output(_plaintext(name, secrets), output_file or name)
    _done("Decryption successful")
    return 0


@click.command("view")
@click.argument("files", nargs=-1, required=True)
@add_options
def view_command(files: tuple[str, ...], **kwargs: Any) -> int:
    """Show the plaintext of FILES."""
    secrets = _secrets(kwargs)
    text = "".join(_plaintext(name, secrets).decode("utf-8", "replace") for name in files)
    if sys.stdout.isatty():
        click.echo_via_pager(text)
    else:
        click.echo(text, nl=False)
    return 0


@click.command("edit")
@click.argument("files", nargs=-1, required=True)
@_encrypt_id_option
@add_options
def edit_command(files: tuple[str, ...], encrypt_vault_id: str | None, **kwargs: Any) -> int:
    """Decrypt FILES into $EDITOR and encrypt what is saved, with the same vault id."""
    secrets = _secrets(kwargs)
    for name in files:
        data = read_input(name)
        envelope = parse_envelope(data)
        plaintext, used = _decrypt_with(data, secrets, name)
        edited = edit_plaintext(plaintext, Path(name).suffix)
        if edited != plaintext:
            vault_id = encrypt_vault_id or envelope.vault_id or used.vault_id
            password = secrets.for_encrypting(vault_id) if encrypt_vault_id else used
            replace_keeping_mode(encrypt(edited, password.password, vault_id).encode(), name)
    return 0


@click.command("create")
@click.argument("file")
@_encrypt_id_option
@click.option("--skip-tty-check", is_flag=True, help="Open the editor without a terminal.")
@add_options
def create_command(
    file: str, encrypt_vault_id: str | None, skip_tty_check: bool, **kwargs: Any
) -> int:
    """Write a new encrypted FILE with $EDITOR."""
    path = Path(file)
    if path.exists():
        raise UsageError(f"{file} exists, use 'corral vault edit' instead")
    if not (sys.stdout.isatty() or skip_tty_check):
        raise UsageError("not a terminal: the editor cannot be opened", hint="--skip-tty-check")
    password = _secrets(kwargs, new=True).for_encrypting(encrypt_vault_id)
    if path.parent != Path() and not path.parent.exists():
        click.echo(f"warning: {path.parent} does not exist, creating it", err=True)
        path.parent.mkdir(parents=True)
    edited = edit_plaintext(b"", path.suffix)
    write_output(encrypt_bytes(edited, password).encode(), file)
    return 0


@click.command("rekey")
@click.argument("files", nargs=-1, required=True)
@_encrypt_id_option
@click.option("--new-vault-password-file", metavar="FILE", help="The new password's file.")
@click.option("--new-vault-id", metavar="[LABEL@]SOURCE", help="The new vault identity.")
@add_options
def rekey_command(
    files: tuple[str, ...],
    encrypt_vault_id: str | None,
    new_vault_password_file: str | None,
    new_vault_id: str | None,
    **kwargs: Any,
) -> int:
    """Encrypt FILES again with a new password, keeping their modes."""
    secrets = _secrets(kwargs)
    new_sources = VaultSources(
        (new_vault_id,) if new_vault_id else (),
        (new_vault_password_file,) if new_vault_password_file else (),
        ask=not (new_vault_id or new_vault_password_file),
    )
    new_password = load_vault_secrets(new_sources, {}, new=True).for_encrypting(encrypt_vault_id)
    for name in files:
        plaintext, _ = _decrypt_with(read_input(name), secrets, name)
        envelope = encrypt(plaintext, new_password.password, new_password.vault_id)
        replace_keeping_mode(envelope.encode(), name)
    _done("Rekey successful", always=True)
    return 0


@click.command("encrypt_string")
@click.argument("strings", nargs=-1)
@click.option("-n", "--name", "names", multiple=True, metavar="NAME", help="Variable name.")
@click.option("--stdin-name", metavar="NAME", help="Variable name for what stdin gives.")
@click.option("-p", "--prompt", "ask_string", is_flag=True, help="Ask for the string.")
@click.option("--show-input", is_flag=True, help="With --prompt: do not hide what is typed.")
@_encrypt_id_option
@_output_option
@add_options
def encrypt_string_command(
    strings: tuple[str, ...],
    names: tuple[str, ...],
    stdin_name: str | None,
    ask_string: bool,
    show_input: bool,
    encrypt_vault_id: str | None,
    output_file: str | None,
    **kwargs: Any,
) -> int:
    """Encrypt STRINGS as YAML `!vault` values to paste into playbooks and vars files."""
    from_stdin = "-" in strings or bool(stdin_name) or (not strings and not ask_string)
    if ask_string and from_stdin:
        raise UsageError("--prompt cannot be used while reading standard input")
    password = _secrets(kwargs, new=True).for_encrypting(encrypt_vault_id)
    items: list[tuple[bytes, str | None]] = []
    if ask_string:
        name = click.prompt("Variable name (enter for no name)", default="", show_default=False)
        text = click.prompt("String to encrypt", hide_input=not show_input, default="")
        if not text:
            raise UsageError("the string given was empty, not encrypting")
        items.append((text.encode(), name or None))
    if from_stdin:
        data = sys.stdin.buffer.read()
        if not data:
            raise UsageError("standard input was empty, not encrypting")
        items.append((data, stdin_name))
    args = [s for s in strings if s != "-"]
    for index, text in enumerate(args):
        if not text:
            raise UsageError("an empty string was given, not encrypting")
        items.append((text.encode(), names[index] if index < len(names) else None))
    blocks = [_yaml_block(encrypt_bytes(data, password), name) for data, name in items]
    write_output(("\n".join(blocks) + "\n").encode(), output_file or "-")
    _done("Encryption successful")
    return 0


def _yaml_block(envelope: str, name: str | None) -> str:
    """ansible-vault's form: ``name: !vault |`` then the envelope indented 10 spaces."""
    lines = [f"{name + ': ' if name else ''}!vault |"]
    lines += [" " * 10 + line for line in envelope.splitlines()]
    return "\n".join(lines)


def _decrypt_with(data: bytes, secrets: VaultSecrets, name: str) -> tuple[bytes, VaultPassword]:
    """The plaintext and the password that opened it."""
    shown = "standard input" if name == "-" else name
    try:
        envelope = parse_envelope(data)
    except VaultError as exc:
        raise VaultError(f"{shown}: {exc.message}") from None
    for password in secrets.candidates(envelope.vault_id):
        try:
            return decrypt(envelope, password.password), password
        except WrongPassword:
            continue
    raise VaultError(
        f"cannot decrypt {shown}: no vault password given matches it "
        f"(tried vault ids: {', '.join(secrets.ids)})",
        hint="check the password, or give the right one with --vault-id or --vault-password-file",
    )


def _done(message: str, *, always: bool = False) -> None:
    if always or sys.stdout.isatty():
        click.echo(message, err=True)
