"""Writing vault-encrypted files and values for tests, with corral's or ansible-core's cipher."""

from __future__ import annotations

import textwrap

from corral.vault.crypto import encrypt

PASSWORD = "vault-test-password-1"


def vault_text(plaintext: str, password: str = PASSWORD, vault_id: str | None = None) -> str:
    """A whole vault-encrypted file, as corral vault encrypt writes it."""
    return encrypt(plaintext.encode(), password.encode(), vault_id)


def ansible_vault_text(plaintext: str, password: str = PASSWORD, vault_id: str = "default") -> str:
    """The same, written by ansible-core's own VaultLib."""
    from ansible.parsing.vault import VaultLib, VaultSecret

    secret = VaultSecret(password.encode())
    lib = VaultLib([(vault_id, secret)])
    envelope: bytes = lib.encrypt(
        plaintext.encode(), secret, vault_id=None if vault_id == "default" else vault_id
    )
    return envelope.decode()


def inline(plaintext: str, indent: int, password: str = PASSWORD, **kwargs: str) -> str:
    """``!vault |`` and the envelope indented for a value at ``indent`` spaces."""
    envelope = vault_text(plaintext, password, kwargs.get("vault_id"))
    return "!vault |\n" + textwrap.indent(envelope, " " * (indent + 2))
