"""TLS settings shared by the steps that talk to servers: http, notify (webhooks and SMTP).

Certificates are verified by default, against the system's CA store or only the
``ca_cert`` given; ``ssl`` is imported when a context is made, not at start-up.
``TLS_PROPERTIES`` (the schema's part) lives in :mod:`.schema`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from corral_plugins.http.schema import TLS_PROPERTIES

if TYPE_CHECKING:
    import ssl

__all__ = ["TLS_PROPERTIES", "tls_context"]


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
