"""Notification steps and run-end notifications: Slack, Microsoft Teams, email, webhooks.

Steps: ``notify.slack`` (an incoming webhook: ``text`` and ``blocks``),
``notify.teams`` (a Teams/Power Automate workflow webhook: an Adaptive Card, or a
legacy connector's MessageCard), ``notify.email`` (SMTP, see
:mod:`corral_plugins.notify.email`) and ``notify.webhook`` (a JSON POST, signed
with HMAC-SHA256 when given a ``secret``). They run on the controller, send
nothing in check mode, and never put a webhook URL, secret or password in a
result. Each network call has a timeout (10 s unless ``timeout`` says otherwise).

The plugin declares the ``notifications:`` play keyword, and its ``corral_event``
hook sends those messages when a run ends and when it waits for an approval (see
:mod:`corral_plugins.notify.run`); a notification that fails is a warning on
stderr and never changes the run's exit code.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from corral import (
    RegisterPlayKeyword,
    RegisterStep,
    RunInfo,
    StepContext,
    StepFailed,
    StepResult,
    StepType,
    __version__,
    hookimpl,
)
from corral.secrets import reveal
from corral_plugins.http.request import describe_error
from corral_plugins.http.tls import TLS_PROPERTIES, tls_context
from corral_plugins.notify.email import EMAIL_SCHEMA, send_email
from corral_plugins.notify.run import Channel, handle_event, play_keyword

if TYPE_CHECKING:
    import httpx

__all__ = [
    "CHANNELS",
    "DEFAULT_TIMEOUT",
    "SIGNATURE_HEADER",
    "SLACK_SCHEMA",
    "TEAMS_SCHEMA",
    "WEBHOOK_SCHEMA",
    "email",
    "send_slack",
    "send_teams",
    "send_webhook",
    "sign",
    "slack",
    "teams",
    "webhook",
]

DEFAULT_TIMEOUT = 10.0
SIGNATURE_HEADER = "X-Corral-Signature-256"

_COMMON: dict[str, Any] = {
    "timeout": {
        "type": "number",
        "exclusiveMinimum": 0,
        "default": DEFAULT_TIMEOUT,
        "description": "Seconds that connecting, and waiting for the answer, may take.",
    },
    **TLS_PROPERTIES,
}
_WEBHOOK_URL: dict[str, Any] = {
    "type": "string",
    "minLength": 1,
    "description": "The incoming webhook's URL. It is a credential: keep it in a secret "
    "or an environment variable (`lookup('env', 'NAME')`); it never appears in results.",
}

SLACK_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["webhook_url"],
    "anyOf": [{"required": ["text"]}, {"required": ["blocks"]}],
    "properties": {
        "webhook_url": _WEBHOOK_URL,
        "text": {
            "type": "string",
            "description": "The message, in Slack's mrkdwn; with `blocks`, the text shown in "
            "notifications.",
        },
        "blocks": {
            "type": "array",
            "items": {"type": "object"},
            "description": "Block Kit blocks, as Slack's API documents them.",
        },
        "attachments": {
            "type": "array",
            "items": {"type": "object"},
            "description": "Legacy attachments (e.g. for a coloured side bar).",
        },
        "channel": {
            "type": "string",
            "description": "Post to this channel instead of the webhook's own (where allowed).",
        },
        "username": {"type": "string", "description": "The name to post as (where allowed)."},
        "icon_emoji": {"type": "string", "description": "The icon, as an emoji: `:rocket:`."},
        "icon_url": {"type": "string", "description": "The icon, as an image URL."},
        **_COMMON,
    },
}

TEAMS_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["webhook_url"],
    "anyOf": [{"required": ["text"]}, {"required": ["card"]}],
    "properties": {
        "webhook_url": _WEBHOOK_URL,
        "title": {"type": "string", "description": "A bold first line."},
        "text": {"type": "string", "description": "The message (Markdown)."},
        "facts": {
            "type": "object",
            "additionalProperties": {"type": ["string", "number", "boolean"]},
            "description": "Name/value pairs shown as a table under the text.",
        },
        "format": {
            "enum": ["adaptive_card", "message_card"],
            "default": "adaptive_card",
            "description": "`adaptive_card` for workflow (Power Automate) webhooks; "
            "`message_card` for legacy Office 365 connector webhooks.",
        },
        "card": {
            "type": "object",
            "description": "A whole payload to send as it is, instead of one built from "
            "`title`, `text` and `facts`.",
        },
        **_COMMON,
    },
}

WEBHOOK_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["url", "payload"],
    "properties": {
        "url": {
            "type": "string",
            "minLength": 1,
            "description": "Where to send the payload; never shown in results.",
        },
        "payload": {"description": "The JSON value to send."},
        "method": {
            "enum": ["POST", "PUT", "PATCH"],
            "default": "POST",
            "description": "The HTTP method.",
        },
        "headers": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": "Extra request headers, name to value.",
        },
        "secret": {
            "type": "string",
            "minLength": 1,
            "description": "Sign the body with HMAC-SHA256 and this key; the signature is "
            "sent as `sha256=<hex>` in `signature_header`.",
        },
        "signature_header": {
            "type": "string",
            "default": SIGNATURE_HEADER,
            "description": "The header that carries the signature (GitHub's is "
            "`X-Hub-Signature-256`).",
        },
        **_COMMON,
    },
}


# -- sending: one function per channel, shared by the steps and run-end notifications --


def send_slack(args: Mapping[str, Any]) -> dict[str, Any]:
    """Post a message to a Slack incoming webhook; raise StepFailed unless Slack accepts it."""
    keys = ("text", "blocks", "attachments", "channel", "username", "icon_emoji", "icon_url")
    payload = {key: args[key] for key in keys if key in args}
    response = _post(args, str(reveal(args["webhook_url"])), _json_bytes(payload), {})
    _expect_success(response, "Slack")
    return {"status": response.status_code}


def send_teams(args: Mapping[str, Any]) -> dict[str, Any]:
    """Post a card to a Microsoft Teams webhook; raise StepFailed unless Teams accepts it."""
    payload = args.get("card") or _teams_card(args)
    response = _post(args, str(reveal(args["webhook_url"])), _json_bytes(payload), {})
    _expect_success(response, "Teams")
    # Legacy connectors answer 200 with the error in the body.
    if response.text.lower().startswith("webhook message delivery failed"):
        raise StepFailed(f"Teams answered: {response.text[:300]}")
    return {"status": response.status_code}


def _teams_card(args: Mapping[str, Any]) -> dict[str, Any]:
    facts = {str(k): str(v) for k, v in (args.get("facts") or {}).items()}
    if args.get("format") == "message_card":
        section: dict[str, Any] = {"text": args.get("text", "")}
        if facts:
            section["facts"] = [{"name": k, "value": v} for k, v in facts.items()]
        return {
            "@type": "MessageCard",
            "@context": "https://schema.org/extensions",
            "summary": args.get("title") or str(args.get("text", ""))[:80],
            "title": args.get("title", ""),
            "sections": [section],
        }
    body: list[dict[str, Any]] = []
    if args.get("title"):
        title = {"type": "TextBlock", "text": args["title"], "weight": "Bolder", "size": "Medium"}
        body.append({**title, "wrap": True})
    if args.get("text"):
        body.append({"type": "TextBlock", "text": args["text"], "wrap": True})
    if facts:
        pairs = [{"title": k, "value": v} for k, v in facts.items()]
        body.append({"type": "FactSet", "facts": pairs})
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    }
    return {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "content": card}
        ],
    }


def send_webhook(args: Mapping[str, Any]) -> dict[str, Any]:
    """Send ``payload`` as JSON, signed when a ``secret`` is given; raise StepFailed on failure."""
    import uuid

    body = _json_bytes(args["payload"])
    delivery = str(uuid.uuid4())
    headers = {str(k): str(reveal(v)) for k, v in (args.get("headers") or {}).items()}
    headers["X-Corral-Delivery"] = delivery
    if args.get("secret"):
        header = str(args.get("signature_header") or SIGNATURE_HEADER)
        headers[header] = sign(str(reveal(args["secret"])), body)
    method = str(args.get("method", "POST"))
    response = _post(args, str(reveal(args["url"])), body, headers, method=method)
    _expect_success(response, "the webhook")
    return {"status": response.status_code, "delivery": delivery}


def sign(secret: str, body: bytes) -> str:
    """The signature header's value for ``body``: ``sha256=`` and the HMAC-SHA256 in hex."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, default=str).encode()


def _post(
    args: Mapping[str, Any],
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    method: str = "POST",
) -> httpx.Response:
    """Send ``body`` as JSON to ``url``; any failure is a StepFailed that does not show the URL."""
    import httpx

    timeout = float(args.get("timeout") or DEFAULT_TIMEOUT)
    sent = {"Content-Type": "application/json", "User-Agent": f"corral/{__version__}", **headers}
    try:
        tls = tls_context(
            validate_certs=bool(args.get("validate_certs", True)), ca_cert=args.get("ca_cert")
        )
        with httpx.Client(verify=tls, timeout=timeout, follow_redirects=False) as client:
            return client.request(method, url, content=body, headers=sent)
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise StepFailed(describe_error(exc, timeout)) from None
    except OSError as exc:  # ssl.SSLError too
        raise StepFailed(f"cannot load the TLS certificates: {exc}") from None


def _expect_success(response: httpx.Response, service: str) -> None:
    if not response.is_success:
        text = response.text.strip()[:300]
        reason = f": {text}" if text else f" {response.reason_phrase}"
        raise StepFailed(f"{service} answered HTTP {response.status_code}{reason}")


# -- the steps ------------------------------------------------------------------------


def slack(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Post a message to Slack."""
    return _notify(ctx, args, "Slack", send_slack)


def teams(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Post a message to Microsoft Teams."""
    return _notify(ctx, args, "Teams", send_teams)


def email(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Send an email."""
    return _notify(ctx, args, "email", send_email)


def webhook(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Send a JSON payload to a webhook."""
    return _notify(ctx, args, "the webhook", send_webhook)


def _notify(
    ctx: StepContext,
    args: Mapping[str, Any],
    service: str,
    send: Callable[[Mapping[str, Any]], dict[str, Any]],
) -> StepResult:
    if ctx.check_mode:
        return StepResult(changed=True, msg=f"check mode: message to {service} not sent")
    resolved = dict(args)
    resolved.setdefault("timeout", ctx.timeout or DEFAULT_TIMEOUT)
    if args.get("ca_cert"):
        found = ctx.find_file(str(args["ca_cert"]), "files")
        if found is None:
            return StepResult(failed=True, msg=f"ca_cert {args['ca_cert']!r} not found")
        resolved["ca_cert"] = str(found)
    data = send(resolved)
    return StepResult(changed=True, msg=f"sent to {service}", data=data)


# -- registration -------------------------------------------------------------------

CHANNELS: Mapping[str, Channel] = {
    "slack": Channel(
        StepType(
            name="notify.slack",
            run=slack,
            schema=SLACK_SCHEMA,
            check_mode=True,
            on="controller",
            description="Post a message to a Slack incoming webhook.",
        ),
        send_slack,
    ),
    "teams": Channel(
        StepType(
            name="notify.teams",
            run=teams,
            schema=TEAMS_SCHEMA,
            check_mode=True,
            on="controller",
            description="Post a card to a Microsoft Teams webhook.",
        ),
        send_teams,
    ),
    "email": Channel(
        StepType(
            name="notify.email",
            run=email,
            schema=EMAIL_SCHEMA,
            check_mode=True,
            on="controller",
            description="Send an email through an SMTP server.",
        ),
        send_email,
    ),
    "webhook": Channel(
        StepType(
            name="notify.webhook",
            run=webhook,
            schema=WEBHOOK_SCHEMA,
            check_mode=True,
            on="controller",
            description="POST a JSON payload to a URL, optionally signed with HMAC-SHA256.",
        ),
        send_webhook,
    ),
}


@hookimpl
def corral_event(event: Mapping[str, Any], run: RunInfo) -> None:
    """Send the plays' ``notifications:`` when a run ends or waits for an approval."""
    handle_event(event, run, CHANNELS)


@hookimpl
def corral_register_play_keywords(register: RegisterPlayKeyword) -> None:
    """Register the ``notifications`` play keyword."""
    register(play_keyword(CHANNELS))


@hookimpl
def corral_register_steps(register: RegisterStep) -> None:
    """Register ``notify.slack``, ``notify.teams``, ``notify.email`` and ``notify.webhook``."""
    for channel in CHANNELS.values():
        register(channel.step)
