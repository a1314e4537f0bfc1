"""Ansible Vault's file format and its one cipher, AES256, byte for byte as ansible-core.

An envelope is a header line and the hexlified payload in lines of 80 characters::

    $ANSIBLE_VAULT;1.1;AES256            (format 1.1: no vault id)
    $ANSIBLE_VAULT;1.2;AES256;prod       (format 1.2: the vault id that encrypted it)
    3338633661...

The payload, once unhexlified, is three lines: the hexlified salt (32 random bytes),
the hexlified HMAC-SHA256 of the ciphertext, and the hexlified ciphertext. PBKDF2-HMAC-
SHA256 with 10,000 iterations derives 80 bytes from the password and salt: a 32-byte
AES key, a 32-byte HMAC key and a 16-byte counter for AES-CTR. The plaintext is
PKCS#7-padded first (CTR needs no padding, but the format has always had it).
"""

from __future__ import annotations

import functools
import os
from binascii import Error as BinasciiError
from binascii import hexlify, unhexlify

from corral.errors import PlaybookError

# cryptography is imported where it is used: most runs decrypt nothing, and start-up
# time matters more to them.

__all__ = [
    "HEADER",
    "Envelope",
    "FormatError",
    "VaultError",
    "WrongPassword",
    "decrypt",
    "encrypt",
    "is_encrypted",
    "parse_envelope",
]

HEADER = "$ANSIBLE_VAULT"
CIPHER = "AES256"
DEFAULT_ID = "default"
_ITERATIONS = 10_000
_KEY_BYTES = 32
_IV_BYTES = 16
_LINE = 80


class VaultError(PlaybookError, ValueError):
    """Vault-encrypted data that cannot be decrypted: no password, a wrong one, or damage.

    A :class:`~corral.errors.PlaybookError` (exit 4): it is bad input, found where a file
    is loaded, and YAML tags raise ``ValueError`` to be refused at their position.
    """


class FormatError(VaultError):
    """Text that starts like a vault but cannot be one (bad header, bad hex, wrong cipher)."""


class WrongPassword(VaultError):
    """The HMAC does not match: the password is not the one the data was encrypted with."""


def is_encrypted(data: str | bytes) -> bool:
    """Whether ``data`` is vault-encrypted: ASCII that starts with ``$ANSIBLE_VAULT``."""
    prefix = data[: len(HEADER)]
    if isinstance(prefix, bytes):
        return prefix == HEADER.encode()
    return prefix == HEADER


class Envelope:
    """A parsed envelope: the format version, the vault id (1.2 only) and the payload."""

    __slots__ = ("payload", "vault_id", "version")

    def __init__(self, version: str, vault_id: str | None, payload: bytes) -> None:
        self.version = version
        self.vault_id = vault_id
        self.payload = payload


def parse_envelope(text: str | bytes) -> Envelope:
    """Split ``text`` into its header fields and payload; :class:`FormatError` if it is not one."""
    raw = text.encode("ascii", "replace") if isinstance(text, str) else text
    lines = raw.strip().splitlines()
    if not lines or not is_encrypted(lines[0]):
        raise FormatError("not vault-encrypted data (no $ANSIBLE_VAULT header)")
    fields = [field.strip().decode("ascii", "replace") for field in lines[0].split(b";")]
    if len(fields) < 3:
        raise FormatError(f"bad vault header {lines[0].decode('ascii', 'replace')!r}")
    version, cipher = fields[1], fields[2]
    if cipher != CIPHER:
        raise FormatError(f"unknown vault cipher {cipher!r} (Ansible's only cipher is AES256)")
    vault_id = fields[3] if len(fields) >= 4 and fields[3] else None
    payload = b"".join(line.strip() for line in lines[1:])
    return Envelope(version, vault_id, payload)


def format_envelope(payload: bytes, vault_id: str | None = None) -> str:
    """The header and ``payload`` in 80-column lines, ending with a newline, as Ansible writes."""
    if vault_id and vault_id != DEFAULT_ID:
        header = f"{HEADER};1.2;{CIPHER};{vault_id}"
    else:
        header = f"{HEADER};1.1;{CIPHER}"
    text = payload.decode("ascii")
    return "\n".join([header, *(text[i : i + _LINE] for i in range(0, len(text), _LINE)), ""])


@functools.lru_cache(maxsize=64)
def _keys(password: bytes, salt: bytes) -> tuple[bytes, bytes, bytes]:
    # Cached: a file with many inline values shares one password and often one salt.
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

    kdf = PBKDF2HMAC(
        algorithm=hashes.SHA256(),
        length=2 * _KEY_BYTES + _IV_BYTES,
        salt=salt,
        iterations=_ITERATIONS,
    )
    derived = kdf.derive(password)
    return derived[:_KEY_BYTES], derived[_KEY_BYTES : 2 * _KEY_BYTES], derived[2 * _KEY_BYTES :]


def _hmac(key: bytes, data: bytes) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives import hmac as crypto_hmac

    mac = crypto_hmac.HMAC(key, hashes.SHA256())
    mac.update(data)
    return mac.finalize()


def encrypt(
    plaintext: bytes, password: bytes, vault_id: str | None = None, salt: bytes | None = None
) -> str:
    """The envelope of ``plaintext`` encrypted with ``password`` (format 1.2 with a vault id)."""
    if not password:
        raise ValueError("the vault password is empty")
    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    salt = os.urandom(32) if salt is None else salt
    aes_key, hmac_key, counter = _keys(password, salt)
    padder = padding.PKCS7(algorithms.AES.block_size).padder()
    padded = padder.update(plaintext) + padder.finalize()
    encryptor = Cipher(algorithms.AES(aes_key), modes.CTR(counter)).encryptor()
    ciphertext = encryptor.update(padded) + encryptor.finalize()
    body = b"\n".join([hexlify(salt), hexlify(_hmac(hmac_key, ciphertext)), hexlify(ciphertext)])
    return format_envelope(hexlify(body), vault_id)


def decrypt(envelope: Envelope, password: bytes) -> bytes:
    """The plaintext of ``envelope``; :class:`WrongPassword` when the HMAC does not match."""
    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    try:
        body = unhexlify(envelope.payload)
        salt_hex, mac_hex, cipher_hex = body.split(b"\n", 2)
        salt, mac, ciphertext = unhexlify(salt_hex), unhexlify(mac_hex), unhexlify(cipher_hex)
    except (BinasciiError, ValueError) as exc:
        raise FormatError("the vault payload is damaged (it is not valid hex data)") from exc
    import hmac

    aes_key, hmac_key, counter = _keys(password, salt)
    # Constant time: how much of a forged HMAC matched must not show in the timing.
    if not hmac.compare_digest(_hmac(hmac_key, ciphertext), mac):
        raise WrongPassword("HMAC verification failed")
    decryptor = Cipher(algorithms.AES(aes_key), modes.CTR(counter)).decryptor()
    unpadder = padding.PKCS7(algorithms.AES.block_size).unpadder()
    try:
        return unpadder.update(decryptor.update(ciphertext) + decryptor.finalize()) + (
            unpadder.finalize()
        )
    except ValueError as exc:
        raise FormatError("the vault payload is damaged (bad padding)") from exc
