"""Building a request: body, query, headers, TLS and redirects from the step's arguments.

:func:`describe_error` and :func:`mask_url` are shared with the notify plugin.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from corral import StepContext
from corral.secrets import REDACTED, reveal
from corral_plugins.http.tls import tls_context

if TYPE_CHECKING:
    import ssl

SAFE_METHODS = ("GET", "HEAD")


def describe_error(exc: Exception, timeout: float) -> str:
    """One line saying why a request failed (never the URL, which may hold a token)."""
    import httpx

    if isinstance(exc, httpx.ConnectTimeout):
        return f"timed out after {timeout:g}s connecting"
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out after {timeout:g}s waiting for the server"
    text = str(exc) or type(exc).__name__
    if "CERTIFICATE_VERIFY_FAILED" in text:
        reason = text.split("certificate verify failed:", 1)[-1].split("(_ssl.c", 1)[0].strip()
        return (
            f"TLS certificate verify failed: {reason} "
            "(trust its CA with ca_cert, or set validate_certs: false)"
        )
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect: {text}"
    return f"{type(exc).__name__}: {text}"


def mask_url(url: str) -> str:
    """``url`` with the password of its ``user:password@`` part replaced by ``********``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username or ''}:{REDACTED}@{parts.hostname or ''}"
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


def expected_statuses(value: int | str | list[int | str]) -> list[int]:
    if isinstance(value, str):
        return [int(part) for part in value.split(",")]
    return [int(v) for v in value] if isinstance(value, list) else [int(value)]


def step_tls(ctx: StepContext, args: Mapping[str, Any]) -> ssl.SSLContext:
    def local(key: str) -> str | None:
        name = args.get(key)
        if not name:
            return None
        found = ctx.find_file(str(name), "files")
        if found is None:
            raise ValueError(f"{key} {name!r} not found on the controller")
        return str(found)

    try:
        return tls_context(
            validate_certs=bool(args.get("validate_certs", True)),
            ca_cert=local("ca_cert") or local("ca_path"),
            client_cert=local("client_cert"),
            client_key=local("client_key"),
        )
    except OSError as exc:  # ssl.SSLError too
        raise ValueError(f"cannot load the TLS certificates: {exc}") from exc


def request_body(args: Mapping[str, Any]) -> tuple[dict[str, str], bytes | None]:
    """The request headers (as given) and the encoded body."""
    from urllib.parse import urlencode

    kind: str | None
    headers = {str(k): str(reveal(v)) for k, v in (args.get("headers") or {}).items()}
    has_type = any(k.lower() == "content-type" for k in headers)
    if "json" in args:
        encoded, kind = json.dumps(args["json"]).encode(), "application/json"
    elif "form" in args:
        encoded, kind = urlencode(query_params(args["form"]) or {}, doseq=True).encode(), _FORM
    elif "body" in args:
        encoded, kind = encode_body(args["body"], args.get("body_format", "raw"))
    else:
        return headers, None
    if kind and not has_type:
        headers["Content-Type"] = kind
    return headers, encoded


_FORM = "application/x-www-form-urlencoded"


def encode_body(body: Any, body_format: str) -> tuple[bytes, str | None]:
    from urllib.parse import urlencode

    if body_format == "json":
        text = body if isinstance(body, str) else json.dumps(body)
        return text.encode(), "application/json"
    if body_format == "form-urlencoded":
        if isinstance(body, str):
            return body.encode(), _FORM
        if not isinstance(body, Mapping | list):
            raise TypeError("body_format form-urlencoded needs a mapping or a list of pairs")
        return urlencode(body, doseq=True).encode(), _FORM
    if isinstance(body, bytes):
        return body, None
    if isinstance(body, Mapping | list):
        raise TypeError("a list or mapping body needs body_format: json or form-urlencoded")
    return str(body).encode(), None


def query_params(values: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Query or form values as text (YAML's true would otherwise be sent as 'True')."""
    if not values:
        return None

    def text(value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(reveal(value))

    return {
        str(k): [text(v) for v in value] if isinstance(value, list) else text(value)
        for k, value in values.items()
    }


def auth_headers(args: Mapping[str, Any]) -> dict[str, str]:
    """``Authorization`` from the bearer token or the basic-auth user and password."""
    import base64

    token = args.get("bearer_token")
    if token:
        return {"Authorization": f"Bearer {reveal(token)}"}
    user = args.get("url_username", args.get("user"))
    password = args.get("url_password", args.get("password"))
    if user is None and password is None:
        return {}
    pair = f"{reveal(user) or ''}:{reveal(password) or ''}".encode()
    return {"Authorization": "Basic " + base64.b64encode(pair).decode()}


def follows_redirects(value: str | bool, method: str) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("all", "yes"):
        return True
    if value in ("none", "no"):
        return False
    return method in SAFE_METHODS  # safe, urllib2
