"""Ansible Vault in the loader: decrypting files and ``!vault`` values with the given passwords.

A command that reads playbooks or inventories (``run``, ``check``, ``plan``, ``resume``,
``inventory``) reads its vault passwords first (:mod:`corral.vault.passwords`) and
makes them the active ones with :func:`use_vault`. From then on every file corral reads
as data or content goes through :func:`decrypt_if_vault`: playbooks, task files,
``vars_files`` and ``include_vars`` files, ``-e @file``, inventory files,
``group_vars``/``host_vars``, ``copy`` and ``template`` sources and ``lookup('file')``.
``!vault`` values in YAML are decrypted where the loader meets them
(:func:`decrypt_value`). Decryption happens when the file is loaded, so a wrong or
missing password is an error before any host is touched.

What is decrypted is a secret: each value is remembered (:func:`corral.secrets.
remember_secret`) and redacted from every event, hence from the console, ``--output
json``, the run store and everything read back from it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from typing import Any

from corral.errors import Location
from corral.secrets import SECRET_VARIABLES, VaultText, remember_secret
from corral.vault.crypto import (
    FormatError,
    VaultError,
    WrongPassword,
    decrypt,
    encrypt,
    is_encrypted,
    parse_envelope,
)
from corral.vault.passwords import (
    HOW_TO_GIVE,
    VaultConfig,
    VaultPassword,
    VaultSecrets,
    VaultSources,
)

__all__ = [
    "VaultConfig",
    "VaultError",
    "VaultPassword",
    "VaultSecrets",
    "VaultSources",
    "VaultText",
    "active_vault",
    "configure",
    "configured",
    "decrypt_if_vault",
    "decrypt_value",
    "is_encrypted",
    "redact_decrypted",
    "sealed",
    "use_vault",
]

# Values too short or too common to redact: hiding every "yes" or "80" in the output
# would hide more than it protects.
_MIN_SECRET = 4
_MIN_BARE = 24
_PAIR = re.compile(r"^([\w.\-]+)\s*(?::\s|:$|=)\s*(.*)$")
_NOT_SECRET = frozenset({"true", "false", "null", "none", "yes", "no", "on", "off", "---"})


class _State:
    """The process's vault passwords and configuration (one command runs per process)."""

    lock = threading.Lock()
    active = VaultSecrets()
    config = VaultConfig()


def use_vault(secrets: VaultSecrets) -> VaultSecrets:
    """Make ``secrets`` the passwords every later load decrypts with; returns the previous ones."""
    with _State.lock:
        previous, _State.active = _State.active, secrets
    return previous


def active_vault() -> VaultSecrets:
    return _State.active


def configure(config: VaultConfig) -> None:
    """Vault settings from configuration (``ansible.cfg``); the environment still overrides them."""
    _State.config = config


def configured(environ: Mapping[str, str]) -> VaultConfig:
    """The configured settings with the environment's over them."""
    return _State.config.with_environ(environ)


def decrypt_text(text: str | bytes, subject: str) -> bytes:
    """The plaintext of vault-encrypted ``text``, which errors call ``subject`` ("this file")."""
    secrets = _State.active
    try:
        envelope = parse_envelope(text)
    except FormatError as exc:
        raise VaultError(f"{subject} is not a valid vault: {exc}") from None
    if not secrets:
        raise VaultError(
            f"{subject} is vault-encrypted and no vault password was given", hint=HOW_TO_GIVE
        )
    for password in secrets.candidates(envelope.vault_id):
        try:
            return decrypt(envelope, password.password)
        except WrongPassword:
            continue
        except FormatError as exc:
            raise VaultError(f"{subject} is not a valid vault: {exc}") from None
    vault_id = envelope.vault_id
    encrypted_with = f", encrypted with vault id {vault_id!r}," if vault_id else ""
    raise VaultError(
        f"cannot decrypt {subject}{encrypted_with}: no vault password given matches it "
        f"(tried vault ids: {', '.join(secrets.ids)})",
        hint="check the password, or give the right one with --vault-id LABEL@FILE "
        "or --vault-password-file FILE",
    )


def decrypt_if_vault(data: bytes, where: str) -> bytes:
    """``data`` itself, or its plaintext when it is a vault-encrypted file.

    A decrypted file's values are remembered as secrets (see :func:`remember_plaintext`).
    A :class:`VaultError` at ``where`` when it cannot be decrypted.
    """
    if not is_encrypted(data):
        return data
    try:
        plaintext = decrypt_text(data, "this file")
    except VaultError as exc:
        raise VaultError(exc.message, hint=exc.hint, location=Location(where)) from None
    remember_plaintext(plaintext.decode("utf-8", "replace"))
    return plaintext


def decrypt_value(text: str) -> VaultText:
    """A ``!vault`` value's plaintext, remembered as a secret. Raises :class:`VaultError`.

    The YAML loader turns the error (a ``ValueError``) into one at the value's
    ``file:line:col``, with the hint.
    """
    ciphertext = str(text)
    plaintext = decrypt_text(ciphertext, "this value").decode("utf-8", "replace")
    _remember(plaintext.strip())
    return VaultText(plaintext, ciphertext)


def remember_plaintext(text: str) -> None:
    """Remember what a decrypted file says as secrets, line by line.

    The value of each ``key: value``, ``key=value`` or ``key = value`` line, and of each
    ``key=value`` word of an INI host line; a line with no key when it is
    :data:`_MIN_BARE` characters or longer (key material). Not: comments, section
    headers, host names, and the values of ``ansible_*`` settings other than passwords
    (``ansible_connection=local`` is not a secret); nor values under :data:`_MIN_SECRET`
    characters or words such as ``true``.
    """
    for line in text.splitlines():
        stripped = line.strip().removeprefix("- ").strip()
        if not stripped or stripped[0] in "#;[" or stripped == "---":
            continue
        pair = _PAIR.match(stripped)
        if pair is not None:
            _remember_setting(pair[1], pair[2])
            continue
        words = [word.partition("=") for word in stripped.split() if "=" in word]
        if words:
            for key, _, value in words:
                _remember_setting(key, value)
        elif len(stripped) >= _MIN_BARE:
            _remember(stripped)


def _remember_setting(key: str, value: str) -> None:
    if key.startswith("ansible_") and key not in SECRET_VARIABLES:
        return
    _remember(value.strip().strip("'\"").strip())


def _remember(value: str) -> None:
    if len(value) >= _MIN_SECRET and value.lower() not in _NOT_SECRET:
        remember_secret(value)


def sealed(data: Any) -> Any:
    """``data`` (JSON-ready) with each string that holds a decrypted value encrypted again.

    For what the run store keeps (the inventory of a run): such a string becomes
    ``{"__ansible_vault": ciphertext}``, Ansible's JSON form, encrypted with the first
    active password, so that ``corral resume`` given the same password reads it back
    (:func:`corral.playbook.yaml.read.loads_json` decrypts the form). Without an active
    password it becomes ``********``. Equal strings share one encryption.
    """
    from corral.secrets import REDACTED, remembered_secrets

    secrets = remembered_secrets()
    if not secrets:
        return data
    done: dict[str, Any] = {}

    def seal(text: str) -> Any:
        if text not in done:
            password = _State.active.passwords[0] if _State.active else None
            if isinstance(text, VaultText):
                done[text] = {"__ansible_vault": text.ciphertext}
            elif password is None:
                done[text] = REDACTED
            else:
                envelope = encrypt(text.encode(), password.password, password.vault_id)
                done[text] = {"__ansible_vault": envelope}
        return done[text]

    def walk(value: Any) -> Any:
        if isinstance(value, str):
            return seal(value) if any(s in value for s in secrets) else value
        if isinstance(value, dict):
            return {key: walk(item) for key, item in value.items()}
        if isinstance(value, list):
            return [walk(item) for item in value]
        return value

    return walk(data)


def redact_decrypted(data: Any) -> Any:
    """``data`` (JSON-ready) with each string that holds a decrypted value as ``********``."""
    from corral.secrets import REDACTED, remembered_secrets

    secrets = remembered_secrets()
    if not secrets:
        return data

    def walk(value: Any) -> Any:
        if isinstance(value, str):
            return REDACTED if any(s in value for s in secrets) else value
        if isinstance(value, dict):
            return {key: walk(item) for key, item in value.items()}
        if isinstance(value, list):
            return [walk(item) for item in value]
        return value

    return walk(data)
