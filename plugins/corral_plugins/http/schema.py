"""The JSON Schema of the ``http`` step's arguments, and the TLS properties the steps share."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from corral_plugins.files.schemas import MODE_PROPERTY

__all__ = ["DEFAULT_TIMEOUT", "HTTP_SCHEMA", "TLS_PROPERTIES"]

DEFAULT_TIMEOUT = 30.0

# Shared with the notify plugin (through :mod:`.tls`): its webhooks and SMTP verify TLS too.
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
