"""Sending mail for ``notify.email``: SMTP with STARTTLS (the default) or SSL, and auth.

The message has a text part, an HTML part, or both (``multipart/alternative``).
TLS certificates are verified unless ``validate_certs: false``; a server that does
not offer STARTTLS is an error, never a silent fall-back to clear text. smtplib is
imported when a message is sent. Every failure raises :class:`corral.StepFailed`
with one line saying what the server answered; the password never appears in it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from corral import StepFailed
from corral.secrets import reveal
from corral_plugins.http.tls import TLS_PROPERTIES, tls_context

if TYPE_CHECKING:
    import smtplib
    import ssl

__all__ = ["DEFAULT_PORTS", "EMAIL_SCHEMA", "send_email"]

# The usual port of each kind of connection: submission with STARTTLS, SMTPS, plain SMTP.
DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}

_ADDRESSES: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "minLength": 1},
        {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1},
    ]
}

EMAIL_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["to", "subject"],
    "anyOf": [{"required": ["body"]}, {"required": ["html"]}],
    "properties": {
        "host": {
            "type": "string",
            "default": "localhost",
            "description": "The SMTP server's name or address.",
        },
        "port": {
            "type": "integer",
            "minimum": 1,
            "maximum": 65535,
            "description": "The SMTP server's port; by default 587 for `starttls`, 465 for "
            "`ssl`, 25 for `none`.",
        },
        "security": {
            "enum": ["starttls", "ssl", "none"],
            "default": "starttls",
            "description": "`starttls`: upgrade the connection with STARTTLS (a server that "
            "does not offer it is an error); `ssl`: TLS from the start (SMTPS); `none`: "
            "clear text.",
        },
        "username": {"type": "string", "description": "Log in with this user name."},
        "password": {"type": "string", "description": "The password for `username`."},
        "sender": {
            "type": "string",
            "default": "corral@localhost",
            "description": "The From address, e.g. `Deploys <deploy@example.com>`.",
        },
        "to": {**_ADDRESSES, "description": "The recipient, or a list of recipients."},
        "cc": {**_ADDRESSES, "description": "Recipients shown in the Cc header."},
        "bcc": {**_ADDRESSES, "description": "Recipients not shown in the message."},
        "subject": {"type": "string", "description": "The Subject line."},
        "body": {"type": "string", "description": "The plain-text body."},
        "html": {
            "type": "string",
            "description": "An HTML body; with `body` too, mail readers choose one of them.",
        },
        "headers": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": "Extra header lines, name to value (e.g. `Reply-To`).",
        },
        "timeout": {
            "type": "number",
            "exclusiveMinimum": 0,
            "default": 10,
            "description": "Seconds that connecting, and each reply of the server, may take.",
        },
        **TLS_PROPERTIES,
    },
}


def send_email(args: Mapping[str, Any]) -> dict[str, Any]:
    """Send the message ``args`` describe (see :data:`EMAIL_SCHEMA`); return what was sent."""
    import smtplib
    import ssl

    try:
        message = _message(args)
    except (ValueError, TypeError) as exc:  # e.g. a line break in the subject
        raise StepFailed(f"cannot build the message: {exc}") from None
    recipients = [*_addresses(args.get("to")), *_addresses(args.get("cc"))]
    recipients += _addresses(args.get("bcc"))
    security = str(args.get("security", "starttls"))
    host = str(args.get("host", "localhost"))
    port = int(args.get("port") or DEFAULT_PORTS[security])
    timeout = float(args.get("timeout") or 10)
    where = f"{host}:{port}"
    try:
        tls = tls_context(
            validate_certs=bool(args.get("validate_certs", True)), ca_cert=args.get("ca_cert")
        )
        with _connect(host, port, security, tls, timeout) as smtp:
            if args.get("username"):
                smtp.login(str(args["username"]), str(reveal(args.get("password")) or ""))
            refused = smtp.send_message(message, to_addrs=recipients)
    except smtplib.SMTPAuthenticationError as exc:
        raise StepFailed(f"SMTP login to {where} failed: {_reply(exc)}") from None
    except smtplib.SMTPRecipientsRefused as exc:
        raise StepFailed(f"{where} refused every recipient: {_refused(exc.recipients)}") from None
    except smtplib.SMTPResponseException as exc:
        raise StepFailed(f"{where} answered {_reply(exc)}") from None
    except TimeoutError:
        raise StepFailed(f"timed out after {timeout:g}s talking to {where}") from None
    except ssl.SSLCertVerificationError as exc:
        raise StepFailed(
            f"TLS certificate of {where} not trusted: {exc.verify_message} "
            "(trust its CA with ca_cert, or set validate_certs: false)"
        ) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise StepFailed(f"cannot send mail via {where}: {exc or type(exc).__name__}") from None
    if refused:
        raise StepFailed(f"{where} refused some recipients: {_refused(refused)}")
    return {"recipients": recipients, "message_id": message["Message-ID"], "server": where}


def _connect(
    host: str, port: int, security: str, tls: ssl.SSLContext, timeout: float
) -> smtplib.SMTP:
    """An SMTP connection, encrypted as ``security`` says before any credential is sent."""
    import smtplib

    if security == "ssl":
        return smtplib.SMTP_SSL(host, port, timeout=timeout, context=tls)
    smtp = smtplib.SMTP(host, port, timeout=timeout)
    if security == "starttls":
        try:
            smtp.ehlo()
            if not smtp.has_extn("starttls"):
                raise StepFailed(
                    f"{host}:{port} does not offer STARTTLS "
                    "(use security: ssl, or security: none to send in clear text)"
                )
            smtp.starttls(context=tls)
            smtp.ehlo()
        except BaseException:
            smtp.close()
            raise
    return smtp


def _message(args: Mapping[str, Any]) -> Any:
    from email.message import EmailMessage
    from email.utils import formatdate, make_msgid

    message = EmailMessage()
    message["From"] = str(args.get("sender", "corral@localhost"))
    message["To"] = ", ".join(_addresses(args.get("to")))
    if args.get("cc"):
        message["Cc"] = ", ".join(_addresses(args.get("cc")))
    message["Subject"] = str(args["subject"])
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain="corral.local")
    for name, value in (args.get("headers") or {}).items():
        message[str(name)] = str(value)
    body, html = args.get("body"), args.get("html")
    if body is not None:
        message.set_content(str(body))
        if html is not None:
            message.add_alternative(str(html), subtype="html")
    else:
        message.set_content(str(html), subtype="html")
    return message


def _addresses(value: str | list[str] | None) -> list[str]:
    """A recipient list from a list, or from one string of comma-separated addresses."""
    if value is None:
        return []
    items = value if isinstance(value, list) else str(value).split(",")
    return [item.strip() for item in items if item.strip()]


def _reply(exc: smtplib.SMTPResponseException) -> str:
    text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else ""
    return f"{exc.smtp_code} {text}".strip()


def _refused(recipients: Mapping[str, tuple[int, bytes]]) -> str:
    return ", ".join(
        f"{address} ({code} {reason.decode(errors='replace')})"
        for address, (code, reason) in recipients.items()
    )
