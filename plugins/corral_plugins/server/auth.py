"""Who is calling: bearer tokens checked on every API route, by the scope it needs.

Each route declares its scope (``read``, ``run``, ``approve``, ``admin``) in the OpenAPI
document as ``x-corral-scope``; a request without a valid token gets 401, one whose
token's scope is too small gets 403. Tokens are made with ``corral token create``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fastapi import HTTPException, Request

if TYPE_CHECKING:
    from corral_plugins.server.tokens import Identity

__all__ = ["needs", "scope_extra"]


def scope_extra(scope: str) -> dict[str, Any]:
    """The route's OpenAPI extension naming the scope it needs."""
    return {"x-corral-scope": scope, "security": [{"bearer": []}]}


def needs(scope: str) -> Callable[[Request], Identity]:
    """A FastAPI dependency: the caller's identity, when its token allows ``scope``."""
    from corral_plugins.server.tokens import check_token, scope_allows

    def identity(request: Request) -> Identity:
        header = request.headers.get("authorization", "")
        kind, _, text = header.partition(" ")
        if kind.lower() != "bearer" or not text.strip():
            raise HTTPException(
                401,
                "a bearer token is needed: Authorization: Bearer TOKEN "
                "(make one with 'corral token create')",
                headers={"WWW-Authenticate": "Bearer"},
            )
        found = check_token(request.app.state.server.store(), text.strip())
        if found is None:
            raise HTTPException(
                401, "unknown or revoked token", headers={"WWW-Authenticate": "Bearer"}
            )
        if not scope_allows(found.scope, scope):
            raise HTTPException(403, f"this token's scope is {found.scope}; {scope} is needed")
        return found

    return identity
