"""The JSON Schema of ``get_url``'s arguments (Ansible's names and aliases)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from corral_plugins.files.schemas import GROUP_PROPERTY, MODE_PROPERTY, OWNER_PROPERTY
from corral_plugins.http.schema import TLS_PROPERTIES

__all__ = ["GET_URL_SCHEMA", "GET_URL_TIMEOUT"]

GET_URL_TIMEOUT = 10.0  # Ansible's default for get_url

GET_URL_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["url", "dest"],
    "properties": {
        "url": {
            "type": "string",
            "pattern": "^https?://",
            "description": "What to download, `http://` or `https://`; a `user:password@` "
            "in it is used for basic auth and masked in the result.",
        },
        "dest": {
            "type": "string",
            "description": "The file on the host to write; for an existing directory, the "
            "server's file name (Content-Disposition, else the URL's) is appended.",
        },
        "checksum": {
            "type": "string",
            "description": "`<algorithm>:<hex digest>` (e.g. `sha256:3b0c...`), or "
            "`<algorithm>:<URL of a checksum file>`: the download must match it, and a file "
            "at `dest` that matches is kept without downloading.",
        },
        "force": {
            "type": "boolean",
            "default": False,
            "description": "Download even when `dest` exists, and replace it if the content "
            "differs; with `false` an existing `dest` is kept (unless it fails `checksum`).",
        },
        "headers": {
            "type": "object",
            "additionalProperties": {"type": ["string", "number", "boolean"]},
            "description": "Request headers, name to value.",
        },
        "timeout": {
            "type": "number",
            "exclusiveMinimum": 0,
            "default": GET_URL_TIMEOUT,
            "description": "Seconds that connecting, and each wait for data, may take.",
        },
        "url_username": {"type": "string", "description": "User name for basic auth."},
        "username": {"type": "string", "description": "Another name for `url_username`."},
        "url_password": {"type": "string", "description": "Password for basic auth."},
        "password": {"type": "string", "description": "Another name for `url_password`."},
        "force_basic_auth": {
            "type": "boolean",
            "default": False,
            "description": "Accepted for Ansible playbooks; with a user name, basic auth is "
            "always sent with the first request.",
        },
        "http_agent": {
            "type": "string",
            "description": "The User-Agent header (default `corral/<version>`).",
        },
        "decompress": {
            "type": "boolean",
            "default": True,
            "description": "Decode a gzip-encoded response; with `false` the bytes are saved "
            "as sent.",
        },
        "unredirected_headers": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Accepted for Ansible playbooks: `Authorization` is never sent "
            "on to another host when a redirect leaves the server.",
        },
        "use_netrc": {
            "type": "boolean",
            "default": True,
            "description": "Accepted for Ansible playbooks: with `use_proxy`, the "
            "controller's `~/.netrc` gives credentials for hosts it names.",
        },
        "use_gssapi": {
            "type": "boolean",
            "default": False,
            "description": "Accepted for Ansible playbooks; GSSAPI authentication is not "
            "supported (`true` fails the step).",
        },
        **TLS_PROPERTIES,
        "ca_path": {"type": "string", "description": "Another name for `ca_cert` (Ansible's)."},
        "client_cert": {
            "type": "string",
            "description": "A PEM file on the controller with the client certificate.",
        },
        "client_key": {
            "type": "string",
            "description": "A PEM file on the controller with the client certificate's key.",
        },
        "use_proxy": {
            "type": "boolean",
            "default": True,
            "description": "Use the proxy that `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY` name.",
        },
        "backup": {
            "type": "boolean",
            "default": False,
            "description": "Keep the old file as `<dest>.<pid>.<time>~` before replacing it; "
            "its path is returned as `backup_file`.",
        },
        "tmp_dest": {
            "type": "string",
            "description": "Accepted for Ansible playbooks and ignored: corral downloads to "
            "a temporary file on the controller.",
        },
        "mode": MODE_PROPERTY,
        "owner": OWNER_PROPERTY,
        "group": GROUP_PROPERTY,
    },
}
