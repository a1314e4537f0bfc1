"""The ``webhook`` trigger: a signed HTTP delivery to the path it declares starts a run.

The server calls :func:`make_receiver` once per ``- webhook: {...}`` entry when it arms
it, and hands each request to the entry's ``path`` to the :class:`WebhookReceiver` it
returned. The receiver judges the delivery, in this order, and answers:

- ``413`` the body is over ``max_body`` bytes;
- ``401`` the signature is missing or wrong, or (generic) the signed timestamp is
  missing or further than ``replay_window`` from the server's clock: a replay is an
  authentication failure, not a slow client, so it is 401 and not 408;
- ``429`` over ``rate_limit`` (with ``Retry-After``); only deliveries that passed the
  signature count, so forged requests cannot use up the sender's allowance;
- ``400`` the body is not JSON (an empty body is allowed: its payload is ``None``), or a
  param template fails on it; ``422`` a param's value holds template markers;
- ``204`` an event not in ``events`` (and GitHub's ``ping``, unless listed): received,
  nothing started;
- ``202`` accepted, with the params, the delivery id and the decoded payload.

The delivery id is the ``X-GitHub-Delivery`` or ``X-Corral-Delivery`` header, else the
body's sha256; the server dedupes on it. Every compare of a signature is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import os
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from corral import HookAnswer, HookRequest
from corral_plugins.triggers.hook_params import HookParams

__all__ = ["TokenBucket", "WebhookReceiver", "WebhookSettings", "make_receiver", "parse_rate"]

DEFAULT_MAX_BODY = 1024 * 1024
DEFAULT_REPLAY_WINDOW = 300.0
MAX_DELIVERY_ID = 200  # characters; a longer header is refused, not truncated
_PATH = re.compile(r"/[A-Za-z0-9._~-][A-Za-z0-9._~/-]*")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_RESERVED = ("/api", "/healthz", "/metrics", "/docs", "/openapi.json")
_PERIODS = {
    "s": 1.0,
    "sec": 1.0,
    "second": 1.0,
    "min": 60.0,
    "minute": 60.0,
    "h": 3600.0,
    "hour": 3600.0,
}
# The headers each kind of sender uses: signature, delivery id, event name.
_HEADERS = {
    "github": ("X-Hub-Signature-256", "X-GitHub-Delivery", "X-GitHub-Event"),
    "generic": ("X-Corral-Signature", "X-Corral-Delivery", "X-Corral-Event"),
}


def parse_rate(text: str) -> tuple[int, float]:
    """``"60/min"`` as ``(60, 60.0)``: a count and its period in seconds."""
    count, _, period = str(text).replace(" ", "").partition("/")
    if not count.isdigit() or int(count) < 1 or period not in _PERIODS:
        raise ValueError(
            f"rate_limit: {text!r} is not a rate; write COUNT/PERIOD, such as 60/min, 10/s or 500/h"
        )
    return int(count), _PERIODS[period]


def _seconds(value: Any) -> float:
    from corral.engine.retry import parse_duration
    from corral.errors import PlaybookError

    try:
        seconds = parse_duration(value)
    except PlaybookError:
        seconds = None
    if seconds is None or seconds <= 0:
        raise ValueError(f"replay_window: {value!r} is not a duration; write 30s, 5m or 300")
    return seconds


@dataclass(frozen=True)
class WebhookSettings:
    """One ``webhook:`` entry's arguments, checked (see the module's docstring)."""

    path: str
    signature: str = "generic"
    secret_env: str | None = None
    replay_window: float = DEFAULT_REPLAY_WINDOW
    rate: tuple[int, float] | None = None
    max_body: int = DEFAULT_MAX_BODY
    params: Mapping[str, str] | None = None
    events: tuple[str, ...] | None = None

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> WebhookSettings:
        """The settings of a ``webhook:`` entry; ValueError naming the wrong argument."""
        path = str(args.get("path", ""))
        if not _PATH.fullmatch(path) or "//" in path or {".", ".."} & set(path.split("/")):
            raise ValueError(
                f"path: {path!r} is not a URL path; write one such as /hooks/deploy "
                "(letters, digits and -._~/ after a leading /)"
            )
        if any(path == r or path.startswith(r + "/") for r in _RESERVED):
            raise ValueError(f"path: {path} is the server's own; use one such as /hooks/deploy")
        insecure = bool(args.get("insecure_no_signature", False))
        secret_env = args.get("secret_env")
        if insecure and secret_env:
            raise ValueError("secret_env: not used with insecure_no_signature: true; drop one")
        if not insecure and not secret_env:
            raise ValueError(
                "secret_env: required: name the server's environment variable that holds "
                "the secret (or set insecure_no_signature: true to accept unsigned deliveries)"
            )
        if secret_env and not _ENV_NAME.fullmatch(str(secret_env)):
            raise ValueError(
                f"secret_env: {secret_env!r} is not an environment variable name; put the "
                "secret in a variable (DEPLOY_HOOK_SECRET) and name that here"
            )
        signature = str(args.get("signature", "generic"))
        if signature == "github" and "replay_window" in args:
            raise ValueError("replay_window: github deliveries carry no signed timestamp")
        rate = args.get("rate_limit")
        events = args.get("events")
        return cls(
            path=path,
            signature=signature,
            secret_env=None if insecure else str(secret_env),
            replay_window=_seconds(args.get("replay_window", DEFAULT_REPLAY_WINDOW)),
            rate=None if rate is None else parse_rate(str(rate)),
            max_body=int(args.get("max_body", DEFAULT_MAX_BODY)),
            params={str(k): str(v) for k, v in (args.get("params") or {}).items()},
            events=None if events is None else tuple(str(e) for e in events),
        )


class TokenBucket:
    """``count`` deliveries per ``period`` seconds, with a burst of ``count``."""

    def __init__(self, count: int, period: float) -> None:
        self.capacity = float(count)
        self.per_second = count / period
        self._tokens = float(count)
        self._updated: float | None = None
        self._lock = threading.Lock()  # the server may judge deliveries in several threads

    def take(self, now: float) -> float:
        """Take one token at time ``now``: 0 when taken, else the seconds until one is."""
        with self._lock:
            if self._updated is not None:
                elapsed = max(0.0, now - self._updated)  # a clock stepped back adds nothing
                self._tokens = min(self.capacity, self._tokens + elapsed * self.per_second)
            self._updated = now if self._updated is None else max(now, self._updated)
            if self._tokens >= 1:
                self._tokens -= 1
                return 0.0
            return (1 - self._tokens) / self.per_second


class WebhookReceiver:
    """Judges each delivery to one webhook entry (the server keeps one per entry)."""

    def __init__(self, settings: WebhookSettings, secret: bytes | None) -> None:
        self.settings = settings
        self.path = settings.path
        self.max_body = settings.max_body  # the server may refuse a longer body unread
        self._secret = secret
        self._params = HookParams(settings.params or {})
        self._bucket = None if settings.rate is None else TokenBucket(*settings.rate)

    def __call__(self, request: HookRequest) -> HookAnswer:
        """The answer to one delivery (see the module's docstring)."""
        headers = {k.lower(): v for k, v in request.headers.items()}
        refusal = self._check_size(request) or self._check_signature(headers, request)
        if refusal is None:
            refusal = self._check_rate(request)
        if refusal is not None:
            return refusal
        try:
            payload = _decode(request.body)
        except ValueError as exc:
            return HookAnswer(400, str(exc))
        return self._accept(headers, request.body, payload)

    def _check_size(self, request: HookRequest) -> HookAnswer | None:
        if len(request.body) > self.max_body:
            return HookAnswer(413, f"body over {self.max_body} bytes (max_body)")
        return None

    def _check_rate(self, request: HookRequest) -> HookAnswer | None:
        wait = 0.0 if self._bucket is None else self._bucket.take(request.received)
        if wait <= 0:
            return None
        seconds = max(1, math.ceil(wait))
        return HookAnswer(
            429, f"over the rate limit; retry in {seconds}s", headers={"Retry-After": str(seconds)}
        )

    def _accept(self, headers: Mapping[str, str], body: bytes, payload: Any) -> HookAnswer:
        """A delivery that passed the checks: ignored (204), its params, or refused."""
        settings = self.settings
        _, delivery_header, event_header = _HEADERS[settings.signature]
        delivery = headers.get(delivery_header.lower()) or hashlib.sha256(body).hexdigest()
        if len(delivery) > MAX_DELIVERY_ID:
            return HookAnswer(400, f"{delivery_header} is over {MAX_DELIVERY_ID} characters")
        event = headers.get(event_header.lower(), "")
        if settings.events is not None and event not in settings.events:
            return HookAnswer(204, f"event {event or '(none)'!r} is not in events: ignored")
        if settings.events is None and settings.signature == "github" and event == "ping":
            return HookAnswer(204, "ping: the hook is set up (GitHub's test delivery)")
        context = {"payload": payload, "headers": headers, "event": event, "delivery": delivery}
        params = self._params.render(context)
        if isinstance(params, HookAnswer):
            return params
        return HookAnswer(202, "accepted", params=params, delivery=delivery, payload=payload)

    def _check_signature(
        self, headers: Mapping[str, str], request: HookRequest
    ) -> HookAnswer | None:
        if self._secret is None:
            return None  # insecure_no_signature: true
        settings = self.settings
        name = _HEADERS[settings.signature][0]
        given = headers.get(name.lower(), "").strip()
        if not given:
            how = (
                "HMAC-SHA256 of the body"
                if settings.signature == "github"
                else "HMAC-SHA256 of TIMESTAMP.BODY, with X-Corral-Timestamp"
            )
            return HookAnswer(401, f"missing {name} header: sign the delivery ({how})")
        signed = request.body
        stamp = headers.get("x-corral-timestamp", "").strip()
        if settings.signature == "generic":
            if not (stamp.isascii() and stamp.isdigit()):
                return HookAnswer(
                    401,
                    "missing X-Corral-Timestamp header (or not a unix time): send the unix "
                    "time, in seconds, that the body was signed at",
                )
            signed = stamp.encode() + b"." + request.body
        expected = "sha256=" + hmac.new(self._secret, signed, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected.encode(), given.lower().encode(errors="replace")):
            return HookAnswer(401, f"{name} does not match: check the secret both sides use")
        if settings.signature == "generic":
            skew = request.received - int(stamp)
            if abs(skew) > settings.replay_window:
                return HookAnswer(
                    401,
                    f"X-Corral-Timestamp is {abs(skew):.0f}s {'old' if skew > 0 else 'ahead'}, "
                    f"outside the replay window ({settings.replay_window:g}s): sign with the "
                    "current time (and check the clocks)",
                )
        return None


def _decode(body: bytes) -> Any:
    """The JSON body (``None`` when empty); ValueError with a one-line reason."""
    if not body.strip():
        return None
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise ValueError(
            "body is not JSON: send application/json (GitHub: Content type application/json)"
        ) from None


def make_receiver(
    args: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> WebhookReceiver:
    """The receiver of one ``webhook:`` entry, its secret read from ``environ`` (default:
    the process's) now; ValueError naming ``secret_env`` when the variable is unset."""
    settings = WebhookSettings.from_args(args)
    secret = None
    if settings.secret_env is not None:
        value = (os.environ if environ is None else environ).get(settings.secret_env, "")
        if not value:
            raise ValueError(
                f"secret_env: the environment variable {settings.secret_env} is not set "
                "(or empty); export it where the server runs"
            )
        secret = value.encode()
    return WebhookReceiver(settings, secret)
