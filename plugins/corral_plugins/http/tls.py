"""TLS settings shared by the steps that talk to servers: http, notify (webhooks and SMTP).

Certificates are verified by default, against the system's CA store or only the
``ca_cert`` given; ``ssl`` is imported when a context is made, not at start-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import ssl

__all__ = ["TLS_PROPERTIES", "tls_context"]

TLS_PROPERTIES: dict[str, Any] = {
    "validate_certs": {
        "type": "boolean",
        "default": True,
        "description": "Verify the server's TLS certificate and name; `false` accepts any "
        "certificate (only for tests).",
    },
    "ca_cert": {
        "type": "string",
        "description": "A PEM file on the controller with the CA certificate(s) to trust "
        "instead of the system's; a relative path is looked up in `files/` beside the "
        "playbook, then beside it.",
    },
}


def tls_context(
    *,
    validate_certs: bool = True,
    ca_cert: str | None = None,
    client_cert: str | None = None,
    client_key: str | None = None,
) -> ssl.SSLContext:
    """The TLS settings for a request; raises OSError or ssl.SSLError on unreadable files."""
    import ssl

    if validate_certs:
        context = ssl.create_default_context(cafile=ca_cert)
    else:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if client_cert:
        context.load_cert_chain(client_cert, client_key)
    return context
