"""Sealed broker messages: what corral puts on the broker is encrypted and authenticated.

A shard's payload holds variables, and those can be secrets (vault-decrypted values,
passwords in inventory). Brokers are often shared, unencrypted on the wire and readable
by anyone who can reach them, and the result backend keeps results for hours. So every
payload and every result corral puts there is sealed with AES-256-GCM under a key that
the controller and its workers share (``CORRAL_BROKER_KEY``); a message read or changed
on the way is either unreadable or refused.

The sealed text is urlsafe base64 of: a version byte, a random 96-bit nonce, and the
ciphertext with its 16-byte GCM tag. The version byte is authenticated too (it is the
associated data), so a message cannot be replayed as another format.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from typing import Any

from corral.errors import CorralError

__all__ = ["VERSION", "SealError", "new_key", "seal", "seal_bytes", "unseal", "unseal_bytes"]

VERSION = 1
_NONCE_BYTES = 12
_TAG_BYTES = 16
_HINT = (
    "the controller and every worker must share one key (CORRAL_BROKER_KEY or "
    "CORRAL_BROKER_KEY_FILE); make one with 'corral worker --new-key'"
)


class SealError(CorralError):
    """A broker message that cannot be opened: a wrong key, or the text was changed."""


def new_key() -> str:
    """A fresh random 256-bit key as urlsafe base64 (what ``corral worker --new-key`` prints)."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode("ascii")


def seal(obj: Any, key: bytes) -> str:
    """``obj`` (JSON-able) as JSON, encrypted and authenticated under ``key``, as text."""
    return seal_bytes(json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode(), key)


def unseal(text: str, key: bytes) -> Any:
    """The object :func:`seal` sealed; :class:`SealError` if the key or the text is wrong."""
    return json.loads(unseal_bytes(text, key).decode("utf-8"))


def seal_bytes(plain: bytes, key: bytes) -> str:
    """``plain``, encrypted and authenticated under ``key``, as text."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    header = bytes([VERSION])
    nonce = os.urandom(_NONCE_BYTES)
    sealed = AESGCM(key).encrypt(nonce, plain, header)
    return base64.urlsafe_b64encode(header + nonce + sealed).decode("ascii")


def unseal_bytes(text: str, key: bytes) -> bytes:
    """The bytes :func:`seal_bytes` sealed; :class:`SealError` if the key or text is wrong."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        data = base64.urlsafe_b64decode(text.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError, AttributeError):
        raise SealError("not a sealed corral message (not base64 text)", hint=_HINT) from None
    if len(data) < 1 + _NONCE_BYTES + _TAG_BYTES:
        raise SealError("not a sealed corral message (too short)", hint=_HINT)
    if data[0] != VERSION:
        raise SealError(
            f"sealed message of version {data[0]}, this corral reads version {VERSION}",
            hint="run the same corral version on the controller and the workers",
        )
    nonce, sealed = data[1 : 1 + _NONCE_BYTES], data[1 + _NONCE_BYTES :]
    try:
        return AESGCM(key).decrypt(nonce, sealed, data[:1])
    except InvalidTag:
        raise SealError(
            "sealed message cannot be opened: the key is wrong or the message was changed",
            hint=_HINT,
        ) from None
