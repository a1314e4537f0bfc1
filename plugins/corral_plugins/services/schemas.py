"""The arguments of ``service``, ``systemd``, ``sysvinit`` and ``service_facts``.

Plain data, imported when the plugin registers its steps: no step's code comes with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["SERVICE_FACTS_SCHEMA", "SERVICE_SCHEMA", "SYSTEMD_SCHEMA", "SYSVINIT_SCHEMA"]

SERVICE_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "description": "The service."},
        "state": {
            "enum": ["started", "stopped", "restarted", "reloaded"],
            "description": "`started`/`stopped` act only when needed; `restarted` always "
            "restarts; `reloaded` reloads a running service and starts a stopped one.",
        },
        "enabled": {"type": "boolean", "description": "Whether the service starts at boot."},
        "pattern": {
            "type": "string",
            "description": "Without systemd: the service runs if a process's command line "
            "contains this text (for init scripts with no working `status`).",
        },
        "sleep": {
            "type": "integer",
            "minimum": 0,
            "description": "Without systemd: seconds between stop and start on `restarted`.",
        },
        "arguments": {
            "type": "string",
            "default": "",
            "description": "Without systemd: extra arguments for the init script.",
        },
        "args": {"type": "string", "description": "Another name for `arguments`."},
        "runlevel": {
            "type": "string",
            "default": "default",
            "description": "OpenRC: the runlevel `enabled` adds the service to.",
        },
        "use": {
            "type": "string",
            "default": "auto",
            "description": "The backend: `auto` (the host's `ansible_service_mgr` fact), "
            "`systemd`, `sysvinit`, `openrc` or `service` (look on the host).",
        },
    },
}

_SERVICE = SERVICE_SCHEMA["properties"]

SYSVINIT_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "oneOf": [{"required": ["name"]}, {"required": ["service"]}],
    "properties": {
        "name": {"type": "string", "description": "The service: its init script's name."},
        "service": {"type": "string", "description": "Another name for `name`."},
        "state": _SERVICE["state"],
        "enabled": {
            "type": "boolean",
            "description": "Whether the service starts at boot (in `runlevels`, if given).",
        },
        "runlevels": {
            "type": "array",
            "items": {"type": ["string", "integer"]},
            "description": "The runlevels `enabled` applies to (`update-rc.d NAME enable "
            "3 5`); without them, the init script's own defaults.",
        },
        "pattern": {
            "type": "string",
            "description": "The service runs if a process's command line contains this "
            "text (for init scripts with no working `status`).",
        },
        "sleep": {
            "type": "integer",
            "minimum": 0,
            "default": 1,
            "description": "Seconds between stop and start on `restarted`.",
        },
        "arguments": {
            "type": "string",
            "description": "Extra arguments for the init script.",
        },
        "args": {"type": "string", "description": "Another name for `arguments`."},
        "daemonize": {
            "type": "boolean",
            "default": False,
            "description": "Accepted: corral always runs the init script detached from "
            "the connection, which is what this asks for.",
        },
    },
}

_STATES = ["reloaded", "restarted", "started", "stopped"]

SYSTEMD_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "name": {
            "type": "string",
            "description": "The unit (`nginx`, `nginx.service`, `backup.timer`); "
            "`.service` is assumed without a suffix.",
        },
        "unit": {"type": "string", "description": "Another name for `name`."},
        "service": {"type": "string", "description": "Another name for `name`."},
        "state": {
            "enum": _STATES,
            "description": "`started`/`stopped` act only when needed; `restarted` and "
            "`reloaded` always act (a stopped unit is started).",
        },
        "enabled": {"type": "boolean", "description": "Whether the unit starts at boot."},
        "masked": {"type": "boolean", "description": "Whether the unit is masked."},
        "daemon_reload": {
            "type": "boolean",
            "default": False,
            "description": "Run `systemctl daemon-reload` first (to read changed unit files).",
        },
        "daemon-reload": {"type": "boolean", "description": "Another name for `daemon_reload`."},
        "daemon_reexec": {
            "type": "boolean",
            "default": False,
            "description": "Run `systemctl daemon-reexec` first.",
        },
        "daemon-reexec": {"type": "boolean", "description": "Another name for `daemon_reexec`."},
        "scope": {
            "enum": ["system", "user", "global"],
            "default": "system",
            "description": "The manager to talk to: the system's, the connecting "
            "user's (`--user`) or every user's (`--global`).",
        },
        "no_block": {
            "type": "boolean",
            "default": False,
            "description": "Do not wait for start/stop jobs to finish (`--no-block`).",
        },
        "force": {
            "type": "boolean",
            "description": "Pass `--force`: enable over conflicting symlinks.",
        },
    },
}

SERVICE_FACTS_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {},
}
