"""The argument schemas of the built-in triggers (imported at start-up; no code here)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["CRON_SCHEMA", "FILE_SCHEMA", "RUN_SCHEMA"]

CRON_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["schedule"],
    "properties": {
        "schedule": {
            "type": "string",
            "description": "A crontab expression (`30 2 * * 1-5`) or a name: `@yearly`, "
            "`@monthly`, `@weekly`, `@daily`, `@hourly`.",
        },
        "timezone": {
            "type": "string",
            "default": "UTC",
            "description": "The IANA zone the schedule's wall-clock times are in "
            "(`Europe/Berlin`). A time that happens twice when clocks go back fires once; "
            "one skipped when they go forward fires once, when the gap ends.",
        },
        "overlap": {
            "enum": ["skip", "queue", "cancel_previous", "allow"],
            "default": "skip",
            "description": "When the previous run of this trigger is still going: skip this "
            "fire, queue it, cancel the previous run, or run both.",
        },
        "misfire_grace": {
            "type": "number",
            "minimum": 0,
            "default": 60,
            "description": "Seconds a fire time may be late (a busy or restarting server) "
            "and still run; older fire times are missed and follow `catch_up`.",
        },
        "catch_up": {
            "enum": ["none", "last", "all"],
            "default": "none",
            "description": "Fire times missed while the server was down: skip them, run "
            "the latest once, or run each.",
        },
        "jitter": {
            "type": "number",
            "minimum": 0,
            "default": 0,
            "description": "Delay each fire by up to this many seconds, by an amount fixed "
            "for the trigger (the same after a restart).",
        },
    },
}

FILE_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["paths"],
    "properties": {
        "paths": {
            "anyOf": [
                {"type": "string", "minLength": 1},
                {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1},
            ],
            "description": "Files, directories (everything below them) or globs "
            "(`conf/*.yml`) to watch; relative ones are under the playbook's directory. "
            "A path that does not exist yet is watched for.",
        },
        "debounce": {
            "type": "integer",
            "minimum": 10,
            "default": 1600,
            "description": "Milliseconds of quiet before a batch of changes fires one run.",
        },
    },
}

RUN_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["playbook"],
    "properties": {
        "playbook": {
            "type": "string",
            "minLength": 1,
            "description": "The playbook whose runs start this one: its path as run, a file "
            "name (`backup.yml` matches `ops/backup.yml`) or a glob.",
        },
        "on": {
            "enum": ["success", "failure", "any"],
            "default": "success",
            "description": "Which ends start this playbook: `success` (succeeded), `failure` "
            "(failed, cancelled or interrupted) or `any`.",
        },
        "poll": {
            "type": "number",
            "minimum": 0.05,
            "default": 2,
            "description": "Seconds between two looks at the run store.",
        },
    },
}
