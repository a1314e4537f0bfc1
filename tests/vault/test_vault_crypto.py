"""AES256 vaults byte for byte as ansible-core writes and reads them, both ways."""

from __future__ import annotations

import pytest
from ansible.parsing.vault import VaultLib, VaultSecret

from corral.vault.crypto import (
    FormatError,
    WrongPassword,
    decrypt,
    encrypt,
    is_encrypted,
    parse_envelope,
)

PASSWORD = b"correct horse battery staple"
TEXTS = [b"", b"x", b"hello: world\n", "caf\u00e9 \u2603\n".encode(), bytes(range(256)) * 3]


def ansible_vault(password: bytes = PASSWORD, vault_id: str = "default") -> VaultLib:
    return VaultLib([(vault_id, VaultSecret(password))])


@pytest.mark.parametrize("plaintext", TEXTS)
def test_ansible_decrypts_what_corral_encrypts(plaintext: bytes) -> None:
    envelope = encrypt(plaintext, PASSWORD)
    assert ansible_vault().decrypt(envelope) == plaintext


@pytest.mark.parametrize("plaintext", TEXTS)
def test_corral_decrypts_what_ansible_encrypts(plaintext: bytes) -> None:
    secret = VaultSecret(PASSWORD)
    envelope = ansible_vault().encrypt(plaintext, secret).decode()
    assert decrypt(parse_envelope(envelope), PASSWORD) == plaintext


def test_the_same_salt_gives_ansibles_exact_bytes() -> None:
    salt = b"s" * 32
    ours = encrypt(b"same bytes\n", PASSWORD, salt=salt)
    theirs = ansible_vault().encrypt(b"same bytes\n", VaultSecret(PASSWORD), salt=salt.decode())
    assert ours == theirs.decode()


def test_the_envelope_has_ansibles_header_and_80_column_lines() -> None:
    envelope = encrypt(b"a" * 500, PASSWORD)
    lines = envelope.split("\n")
    assert lines[0] == "$ANSIBLE_VAULT;1.1;AES256"
    assert lines[-1] == "", "ends with a newline"
    assert all(len(line) == 80 for line in lines[1:-2])
    assert 0 < len(lines[-2]) <= 80


def test_a_vault_id_makes_format_1_2_both_ways() -> None:
    envelope = encrypt(b"labelled", PASSWORD, vault_id="prod")
    assert envelope.startswith("$ANSIBLE_VAULT;1.2;AES256;prod\n")
    assert parse_envelope(envelope).vault_id == "prod"
    assert ansible_vault(vault_id="prod").decrypt(envelope) == b"labelled"
    theirs = ansible_vault(vault_id="prod").encrypt(
        b"labelled", VaultSecret(PASSWORD), vault_id="prod"
    )
    parsed = parse_envelope(theirs)
    assert (parsed.version, parsed.vault_id) == ("1.2", "prod")
    assert decrypt(parsed, PASSWORD) == b"labelled"


def test_the_default_vault_id_keeps_format_1_1() -> None:
    assert encrypt(b"x", PASSWORD, vault_id="default").startswith("$ANSIBLE_VAULT;1.1;AES256\n")


def test_a_wrong_password_fails_the_hmac_check() -> None:
    envelope = parse_envelope(encrypt(b"secret", PASSWORD))
    with pytest.raises(WrongPassword):
        decrypt(envelope, b"not the password")


def test_a_changed_byte_of_ciphertext_fails_the_hmac_check() -> None:
    envelope = encrypt(b"secret text", PASSWORD)
    lines = envelope.split("\n")
    last = lines[-2]
    lines[-2] = last[:-1] + ("0" if last[-1] != "0" else "1")
    with pytest.raises((WrongPassword, FormatError)):
        decrypt(parse_envelope("\n".join(lines)), PASSWORD)


@pytest.mark.parametrize(
    "text",
    [
        "$ANSIBLE_VAULT;1.1;AES256\nnot hex at all\n",
        "$ANSIBLE_VAULT;1.1;AES128\n3131\n",
        "$ANSIBLE_VAULT\n3131\n",
        "plain text\n",
    ],
    ids=["bad-hex", "unknown-cipher", "short-header", "no-header"],
)
def test_damaged_envelopes_are_format_errors(text: str) -> None:
    with pytest.raises(FormatError):
        decrypt(parse_envelope(text), PASSWORD)


def test_is_encrypted_looks_at_the_header() -> None:
    assert is_encrypted(b"$ANSIBLE_VAULT;1.1;AES256\n")
    assert is_encrypted("$ANSIBLE_VAULT;1.2;AES256;x\n")
    assert not is_encrypted(b"  $ANSIBLE_VAULT")
    assert not is_encrypted("key: value\n")
