"""The ``haproxy`` step's arguments."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["HAPROXY_SCHEMA", "STATES"]

STATES = ("ready", "drain", "maint")

HAPROXY_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["backend"],
    "properties": {
        "backend": {"type": "string", "minLength": 1, "description": "The backend's name."},
        "servers": {
            "type": "array",
            "items": {"type": "string", "minLength": 1},
            "description": "The servers of the backend to change (default: none, only report "
            "the backend's servers).",
        },
        "state": {
            "enum": list(STATES),
            "description": "`drain` (no new connections, current ones finish), `maint` "
            "(out of the pool, health checks stop) or `ready` (back in the pool). Needs "
            "`servers`.",
        },
        "socket": {
            "type": "string",
            "default": "/run/haproxy/admin.sock",
            "description": "The path of HAProxy's admin-level stats socket on the host.",
        },
        "wait_drained": {
            "type": "number",
            "minimum": 0,
            "default": 0,
            "description": "With `state: drain` or `maint`: wait up to this many seconds "
            "for the servers' current connections to end (0: do not wait).",
        },
    },
}
