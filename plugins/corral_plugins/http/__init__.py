"""The ``http`` step (also ``uri`` and ``ansible.builtin.uri``): call an HTTP API, or download.

Requests are sent from the controller with httpx (imported when a request is
made, never at start-up); only ``dest`` touches the host: the body is streamed
to a temporary file on the controller, compared with the host's file by sha1,
and written with ``conn.put`` when it differs. The result has Ansible's shape
(``status``, ``url``, ``msg``, ``json``, ``content``, response headers as
lower-case keys) plus ``headers``. TLS certificates are verified by default;
``ca_cert`` and ``client_cert``/``client_key`` name files on the controller.
In check mode only GET and HEAD are sent. Passwords, tokens and the password
in a URL never appear in the result.

:func:`describe_error` is shared with the notify plugin.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import posixpath
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit, urlunsplit

from corral import RegisterStep, StepContext, StepResult, StepType, __version__, hookimpl
from corral.secrets import REDACTED, reveal
from corral_plugins.files.paths import MODE_PROPERTY, apply_attributes, parse_mode
from corral_plugins.http.tls import TLS_PROPERTIES, tls_context

if TYPE_CHECKING:
    import ssl

    import httpx

__all__ = ["DEFAULT_TIMEOUT", "HTTP_SCHEMA", "describe_error", "http", "mask_url"]

DEFAULT_TIMEOUT = 30.0
SAFE_METHODS = ("GET", "HEAD")
# Ansible's test for a JSON body: the media subtype (or its +suffix) is one of these.
_JSON_SUBTYPES = ("json", "javascript")
# Result keys that a response header of the same name must not overwrite.
_RESULT_KEYS = frozenset(
    {"changed", "failed", "msg", "status", "url", "redirected", "elapsed", "headers", "json",
     "content", "cookies", "cookies_string", "path", "checksum", "size"}
)  # fmt: skip

# `status_code: 200`, `[200, 201]`, or as Ansible also takes them, `"200,201"`.
_STATUS_LIST = r"^\s*-?\d+(\s*,\s*-?\d+)*\s*$"
_STATUS_ITEM = {"anyOf": [{"type": "integer"}, {"type": "string", "pattern": r"^\s*-?\d+\s*$"}]}

HTTP_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["url"],
    # One body at most: `body`, `json` or `form`. (`not: {}` rather than `false`, so
    # that the error points at the extra argument.)
    "dependentSchemas": {
        "json": {"properties": {"body": {"not": {}}, "form": {"not": {}}}},
        "form": {"properties": {"body": {"not": {}}}},
    },
    "properties": {
        "url": {
            "type": "string",
            "pattern": "^https?://",
            "description": "The URL, `http://` or `https://`; a `user:password@` in it is "
            "used for basic auth and masked in the result.",
        },
        "method": {
            "type": "string",
            "pattern": "^[A-Za-z]+$",
            "default": "GET",
            "description": "The HTTP method: GET, POST, PUT, PATCH, DELETE, HEAD, ...",
        },
        "headers": {
            "type": "object",
            "additionalProperties": {"type": ["string", "number", "boolean"]},
            "description": "Request headers, name to value.",
        },
        "params": {
            "type": "object",
            "additionalProperties": {
                "anyOf": [
                    {"type": ["string", "number", "boolean"]},
                    {"type": "array", "items": {"type": ["string", "number", "boolean"]}},
                ]
            },
            "description": "Query parameters added to the URL (a list repeats the parameter).",
        },
        "body": {
            "description": "The request body, sent as `body_format` says: text as it is, "
            "or a list or mapping encoded as JSON or as a form.",
        },
        "body_format": {
            "enum": ["raw", "json", "form-urlencoded"],
            "default": "raw",
            "description": "How to encode `body` (Ansible's argument): `json` and "
            "`form-urlencoded` also set the Content-Type.",
        },
        "json": {
            "description": "A value sent as a JSON body, with `Content-Type: application/json`.",
        },
        "form": {
            "type": "object",
            "description": "Fields sent as an `application/x-www-form-urlencoded` body.",
        },
        "url_username": {"type": "string", "description": "User name for basic auth."},
        "user": {"type": "string", "description": "Another name for `url_username`."},
        "url_password": {"type": "string", "description": "Password for basic auth."},
        "password": {"type": "string", "description": "Another name for `url_password`."},
        "force_basic_auth": {
            "type": "boolean",
            "description": "Accepted for Ansible playbooks; basic auth is always sent with "
            "the first request.",
        },
        "bearer_token": {
            "type": "string",
            "description": "Sent as `Authorization: Bearer <token>`.",
        },
        "timeout": {
            "type": "number",
            "exclusiveMinimum": 0,
            "default": DEFAULT_TIMEOUT,
            "description": "Seconds that connecting, and each wait for data, may take.",
        },
        "follow_redirects": {
            "anyOf": [
                {"enum": ["safe", "all", "none", "yes", "no", "urllib2"]},
                {"type": "boolean"},
            ],
            "default": "safe",
            "description": "`safe`: follow redirects of GET and HEAD only; `all` (or `true`): "
            "follow every redirect; `none` (or `false`): return the redirect itself.",
        },
        **TLS_PROPERTIES,
        "ca_path": {"type": "string", "description": "Another name for `ca_cert` (Ansible's)."},
        "client_cert": {
            "type": "string",
            "description": "A PEM file on the controller with the client certificate (and "
            "its key, unless `client_key` is given).",
        },
        "client_key": {
            "type": "string",
            "description": "A PEM file on the controller with the client certificate's key.",
        },
        "status_code": {
            "anyOf": [
                {"type": "integer"},
                {"type": "string", "pattern": _STATUS_LIST},
                {"type": "array", "items": _STATUS_ITEM, "minItems": 1},
            ],
            "default": 200,
            "description": "The status code, or list of codes, that mean success (Ansible's "
            "`'200,201'` works too).",
        },
        "return_content": {
            "type": "boolean",
            "default": False,
            "description": "Return the body as `content` (a JSON body is always parsed "
            "into `json`).",
        },
        "dest": {
            "type": "string",
            "description": "Download the body to this path on the host (a directory gets "
            "the server's file name); written only when the content differs.",
        },
        "mode": MODE_PROPERTY,
        "creates": {
            "type": "string",
            "description": "A path on the host; when it exists, no request is sent.",
        },
        "removes": {
            "type": "string",
            "description": "A path on the host; when it does not exist, no request is sent.",
        },
        "use_proxy": {
            "type": "boolean",
            "default": True,
            "description": "Use the proxy that `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY` name.",
        },
    },
}


# -- shared with the notify plugin ------------------------------------------------


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


# -- the step -------------------------------------------------------------------


@dataclass(frozen=True)
class _Call:
    """What the outcome of one request is judged against."""

    method: str
    shown: str  # the URL with its password masked
    expected: list[int]
    timeout: float
    started: float = field(default_factory=time.monotonic)

    def failed(self, reason: str) -> StepResult:
        """Ansible's result for a request that got no response: status -1."""
        return StepResult(
            failed=True,
            msg=f"Status code was -1 and not {self.expected}: Request failed: {reason}",
            data={
                "status": -1,
                "url": self.shown,
                "redirected": False,
                "elapsed": int(time.monotonic() - self.started),
            },
        )


def http(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Send one HTTP request from the controller; with ``dest``, save the body on the host."""
    method = str(args.get("method", "GET")).upper()
    shown = mask_url(str(reveal(args["url"])))
    skipped = _guard(ctx, args)
    if skipped is not None:
        return StepResult(msg=skipped, stdout=skipped, data={"url": shown})
    if ctx.check_mode and method not in SAFE_METHODS:
        return StepResult(
            skipped=True,
            msg=f"check mode: {method} {shown} not sent (only GET and HEAD are)",
            data={"url": shown},
        )
    timeout = float(args.get("timeout") or ctx.timeout or DEFAULT_TIMEOUT)
    call = _Call(method, shown, _expected(args.get("status_code", 200)), timeout)
    try:
        tls = _step_tls(ctx, args)
        headers, content = _body(args)
    except (OSError, ValueError, TypeError) as exc:  # ssl.SSLError is an OSError
        return StepResult(failed=True, msg=str(exc), data={"url": shown, "status": -1})
    headers.update(_auth_headers(args))
    return _send(ctx, args, call, tls=tls, headers=headers, content=content)


def _send(
    ctx: StepContext,
    args: Mapping[str, Any],
    call: _Call,
    *,
    tls: ssl.SSLContext,
    headers: dict[str, str],
    content: bytes | None,
) -> StepResult:
    import httpx

    with httpx.Client(
        headers={"User-Agent": f"corral/{__version__}"},
        verify=tls,
        timeout=call.timeout,
        follow_redirects=_follows(args.get("follow_redirects", "safe"), call.method),
        trust_env=bool(args.get("use_proxy", True)),
    ) as client:
        try:
            request = client.build_request(
                call.method,
                str(reveal(args["url"])),
                params=_params(args.get("params")),
                headers=headers,
                content=content,
            )
            response = client.send(request, stream=True)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            return call.failed(describe_error(exc, call.timeout))
        try:
            if "dest" in args and response.status_code in call.expected:
                return _download(ctx, args, response, call)
            response.read()
        except httpx.HTTPError as exc:
            return call.failed(describe_error(exc, call.timeout))
        finally:
            response.close()
    data = _response_data(response, call)
    return _judge(response, call, data, return_content=bool(args.get("return_content")))


def _expected(value: int | str | list[int | str]) -> list[int]:
    if isinstance(value, str):
        return [int(part) for part in value.split(",")]
    return [int(v) for v in value] if isinstance(value, list) else [int(value)]


def _guard(ctx: StepContext, args: Mapping[str, Any]) -> str | None:
    """Ansible's ``creates``/``removes``: why not to send the request, or None to send it."""
    creates, removes = args.get("creates"), args.get("removes")
    if creates and ctx.conn.stat(creates, become=ctx.become, timeout=ctx.timeout) is not None:
        return f"skipped, since '{creates}' exists"
    if removes and ctx.conn.stat(removes, become=ctx.become, timeout=ctx.timeout) is None:
        return f"skipped, since '{removes}' does not exist"
    return None


def _step_tls(ctx: StepContext, args: Mapping[str, Any]) -> ssl.SSLContext:
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


def _body(args: Mapping[str, Any]) -> tuple[dict[str, str], bytes | None]:
    """The request headers (as given) and the encoded body."""
    from urllib.parse import urlencode

    kind: str | None
    headers = {str(k): str(reveal(v)) for k, v in (args.get("headers") or {}).items()}
    has_type = any(k.lower() == "content-type" for k in headers)
    if "json" in args:
        encoded, kind = json.dumps(args["json"]).encode(), "application/json"
    elif "form" in args:
        encoded, kind = urlencode(_params(args["form"]) or {}, doseq=True).encode(), _FORM
    elif "body" in args:
        encoded, kind = _encode_body(args["body"], args.get("body_format", "raw"))
    else:
        return headers, None
    if kind and not has_type:
        headers["Content-Type"] = kind
    return headers, encoded


_FORM = "application/x-www-form-urlencoded"


def _encode_body(body: Any, body_format: str) -> tuple[bytes, str | None]:
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


def _params(values: Mapping[str, Any] | None) -> dict[str, Any] | None:
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


def _auth_headers(args: Mapping[str, Any]) -> dict[str, str]:
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


def _follows(value: str | bool, method: str) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("all", "yes"):
        return True
    if value in ("none", "no"):
        return False
    return method in SAFE_METHODS  # safe, urllib2


# -- the outcome ---------------------------------------------------------------


def _response_data(response: httpx.Response, call: _Call) -> dict[str, Any]:
    headers = {name: response.headers[name] for name in response.headers.keys()}  # noqa: SIM118 - Headers.keys() merges repeats
    final = mask_url(str(response.url))
    data: dict[str, Any] = {
        name.replace("-", "_"): value
        for name, value in headers.items()
        if name.replace("-", "_") not in _RESULT_KEYS
    }
    if "location" in data:
        data["location"] = mask_url(str(response.url.join(data["location"])))
    data.update(
        status=response.status_code,
        url=final,
        redirected=bool(response.history),
        elapsed=int(time.monotonic() - call.started),
        headers=headers,
        cookies=dict(response.cookies),
        cookies_string="; ".join(f"{k}={v}" for k, v in response.cookies.items()),
    )
    if response.is_stream_consumed and _is_json(response):
        with contextlib.suppress(ValueError):
            data["json"] = json.loads(response.text)
    return data


def _is_json(response: httpx.Response) -> bool:
    kind = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    subtype = kind.partition("/")[2]
    return (subtype.partition("+")[2] or subtype) in _JSON_SUBTYPES


def _judge(
    response: httpx.Response, call: _Call, data: dict[str, Any], *, return_content: bool
) -> StepResult:
    status = response.status_code
    if response.is_stream_consumed:
        size = f"{len(response.content)} bytes"
        if return_content:
            data["content"] = response.text
    else:
        size = f"{response.headers.get('content-length', 'unknown')} bytes"
    info = f"HTTP Error {status}: {response.reason_phrase}" if status >= 400 else f"OK ({size})"
    if status not in call.expected:
        return StepResult(
            failed=True, msg=f"Status code was {status} and not {call.expected}: {info}", data=data
        )
    return StepResult(msg=info, data=data)


# -- downloads to the host ----------------------------------------------------------


def _download(
    ctx: StepContext,
    args: Mapping[str, Any],
    response: httpx.Response,
    call: _Call,
) -> StepResult:
    """Stream the body to a local temporary file, then put it on the host if it differs."""
    import tempfile

    data = _response_data(response, call)
    if response.status_code == 304:
        return _judge(response, call, data, return_content=False)
    dest = str(args["dest"])
    current = ctx.conn.stat(dest, checksum=True, become=ctx.become, timeout=ctx.timeout)
    if dest.endswith("/") or (current is not None and current.is_dir):
        dest = posixpath.join(dest, _file_name(response))
        current = ctx.conn.stat(dest, checksum=True, become=ctx.become, timeout=ctx.timeout)
    with tempfile.TemporaryDirectory(prefix="corral-http-") as tmp:
        local = Path(tmp) / "body"
        digest = hashlib.sha1()  # noqa: S324 - Ansible's checksum, compared with conn.stat's
        size = 0
        with local.open("wb") as out:
            for chunk in response.iter_bytes():
                if ctx.cancelled.is_set():
                    return StepResult(failed=True, msg="download cancelled", data=data)
                out.write(chunk)
                digest.update(chunk)
                size += len(chunk)
        checksum = digest.hexdigest()
        data.update(path=dest, checksum=checksum, size=size)
        mode = parse_mode(args.get("mode"))
        if current is not None and current.checksum == checksum:
            return _unchanged_download(ctx, dest, data, mode)
        if ctx.check_mode:
            return StepResult(changed=True, msg=f"would write {size} bytes to {dest}", data=data)
        ctx.conn.put(local, dest, mode=mode, become=ctx.become, timeout=ctx.timeout)
    return StepResult(changed=True, msg=f"OK ({size} bytes)", data=data)


def _unchanged_download(
    ctx: StepContext, dest: str, data: dict[str, Any], mode: int | None
) -> StepResult:
    """The host already has the content: fix the mode if it differs, and say so."""
    current = ctx.conn.stat(dest, become=ctx.become, timeout=ctx.timeout)
    fixed = apply_attributes(ctx, dest, current, mode=mode) if current is not None else []
    msg = "; ".join(fixed) or f"{dest} already has this content"
    return StepResult(changed=bool(fixed), msg=msg, data=data)


def _file_name(response: httpx.Response) -> str:
    """The name for a download into a directory: Content-Disposition's, the URL's, or index.html."""
    from email.message import Message

    disposition = response.headers.get("content-disposition")
    if disposition:
        message = Message()
        message["content-disposition"] = disposition
        name = message.get_filename()
        if name:
            return posixpath.basename(name.replace("\\", "/")) or "index.html"
    return posixpath.basename(unquote(response.url.path)) or "index.html"


# -- registration -------------------------------------------------------------------


@hookimpl
def corral_register_steps(register: RegisterStep) -> None:
    """Register ``http`` (aliases ``uri``, ``ansible.builtin.uri``, ``ansible.legacy.uri``)."""
    register(
        StepType(
            name="http",
            run=http,
            schema=HTTP_SCHEMA,
            aliases=("uri", "ansible.builtin.uri", "ansible.legacy.uri"),
            check_mode=True,
            # The request leaves from the controller; the host is used only for
            # dest, creates and removes.
            on="target",
            description="Send an HTTP request from the controller; optionally save the "
            "body on the host.",
        )
    )
