"""The API's bearer tokens: made once, kept as sha256 digests in the run store's ``tokens``.

A token reads ``corral_<id>_<secret>``: ``<id>`` (8 hex digits) names it in
``corral token list`` and ``revoke``; ``<secret>`` is 32 random bytes, URL-safe. The
store keeps the sha256 of the whole text, never the text, so it is shown once, when made.
A digest lookup needs no constant-time compare: the time it takes tells nothing of a
secret whose hash the caller does not know.

Scopes are a ladder, each allowing what those below it allow::

    read < run < approve < admin

``read`` sees playbooks, runs, logs and triggers; ``run`` also starts, cancels and
resumes runs; ``approve`` also answers approvals; ``admin`` also manages the server.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from corral.store.db import Store

__all__ = [
    "SCOPES",
    "Identity",
    "check_token",
    "create_token",
    "list_tokens",
    "revoke_token",
    "scope_allows",
    "token_id_of",
]

SCOPES = ("read", "run", "approve", "admin")  # the ladder, lowest first
PREFIX = "corral_"
LAST_USED_EVERY = 60.0  # seconds: a busy client does not write the store on every request


@dataclass(frozen=True)
class Identity:
    """Who a request is from: the token that authenticated it."""

    token_id: str
    name: str
    scope: str

    @property
    def label(self) -> str:
        """How runs and approvals record this caller: ``token:NAME`` (or the token's id)."""
        return f"token:{self.name or self.token_id}"


def scope_allows(scope: str, needed: str) -> bool:
    """Whether a token of ``scope`` may do what needs ``needed`` (see the ladder above)."""
    if needed not in SCOPES:
        raise ValueError(f"unknown scope {needed!r}; scopes: {', '.join(SCOPES)}")
    return scope in SCOPES and SCOPES.index(scope) >= SCOPES.index(needed)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def create_token(store: Store, scope: str, name: str = "") -> tuple[str, str]:
    """Make a token: ``(token_id, text)``. The text is not kept: show it now, once."""
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}; scopes: {', '.join(SCOPES)}")
    while True:
        token_id = secrets.token_hex(4)
        text = f"{PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
        try:
            with store.transaction() as conn:
                conn.execute(
                    "INSERT INTO tokens (id, name, digest, scope, created) VALUES (?, ?, ?, ?, ?)",
                    (token_id, name, _digest(text), scope, time.time()),
                )
        except sqlite3.IntegrityError:
            continue  # an id already taken (one in four billion): draw another
        return token_id, text


def check_token(store: Store, text: str, *, now: float | None = None) -> Identity | None:
    """The identity of a bearer token's ``text``; None when unknown or revoked.

    Records when it was last used, at most once a minute.
    """
    if not text.startswith(PREFIX):
        return None
    row = store.conn.execute(
        "SELECT id, name, scope, last_used, revoked FROM tokens WHERE digest = ?",
        (_digest(text),),
    ).fetchone()
    if row is None or row[4] is not None:
        return None
    token_id, name, scope, last_used = row[0], row[1], row[2], row[3]
    now = time.time() if now is None else now
    if last_used is None or now - last_used >= LAST_USED_EVERY:
        with store.transaction() as conn:
            conn.execute("UPDATE tokens SET last_used = ? WHERE id = ?", (now, token_id))
    return Identity(token_id=token_id, name=name, scope=scope)


def list_tokens(store: Store) -> list[dict[str, Any]]:
    """Every token (revoked ones too), oldest first, without digests."""
    rows = store.conn.execute(
        "SELECT id, name, scope, created, last_used, revoked FROM tokens ORDER BY created, id"
    ).fetchall()
    keys = ("id", "name", "scope", "created", "last_used", "revoked")
    return [dict(zip(keys, row, strict=True)) for row in rows]


def token_id_of(text: str) -> str:
    """The id a ``revoke`` argument names: an id, or a whole token (``corral_<id>_...``)."""
    if text.startswith(PREFIX):
        return text[len(PREFIX) :].split("_", 1)[0]
    return text


def revoke_token(store: Store, token_id: str) -> str:
    """Revoke a token now: ``"revoked"``, ``"already revoked"`` or ``"unknown"``."""
    with store.transaction() as conn:
        row = conn.execute("SELECT revoked FROM tokens WHERE id = ?", (token_id,)).fetchone()
        if row is None:
            return "unknown"
        if row[0] is not None:
            return "already revoked"
        conn.execute("UPDATE tokens SET revoked = ? WHERE id = ?", (time.time(), token_id))
    return "revoked"
