"""The argument schemas of the built-in triggers (imported at start-up; no code here)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["CRON_SCHEMA", "FILE_SCHEMA", "RUN_SCHEMA", "WEBHOOK_SCHEMA"]

# Every trigger's ``overlap``: what a fire does while the entry's previous run is still
# queued or running (applied by corral serve). Cron skips by default; the others allow.
OVERLAP: Mapping[str, Any] = {
    "enum": ["skip", "queue", "cancel_previous", "allow"],
    "description": "When the previous run of this trigger is still queued or running: skip "
    "this fire, queue it, cancel the previous run, or run both.",
}

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
        "overlap": {**OVERLAP, "default": "skip"},
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
        "overlap": {**OVERLAP, "default": "allow"},
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
        "overlap": {**OVERLAP, "default": "allow"},
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

WEBHOOK_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["path"],
    "properties": {
        "overlap": {**OVERLAP, "default": "allow"},
        "path": {
            "type": "string",
            "description": "The URL path the server answers this hook at (`/hooks/deploy`): "
            "letters, digits and `-._~/`, starting with `/`, outside `/api/`.",
        },
        "secret_env": {
            "type": "string",
            "minLength": 1,
            "description": "The environment variable of the server holding the shared secret "
            "the sender signs with (never the secret itself). Required unless "
            "`insecure_no_signature: true`.",
        },
        "signature": {
            "enum": ["generic", "github"],
            "default": "generic",
            "description": "How deliveries are signed: `generic` (`X-Corral-Signature: "
            "sha256=HMAC(timestamp.body)` with `X-Corral-Timestamp`) or `github` "
            "(`X-Hub-Signature-256: sha256=HMAC(body)`).",
        },
        "insecure_no_signature": {
            "type": "boolean",
            "default": False,
            "description": "Accept unsigned deliveries (anyone who can reach the server can "
            "start the playbook). For tests and trusted networks only.",
        },
        "replay_window": {
            "type": ["number", "string"],
            "default": "5m",
            "description": "How far a generic delivery's signed timestamp may be from the "
            "server's clock (`30s`, `5m`, or seconds); older or newer ones are refused.",
        },
        "rate_limit": {
            "type": "string",
            "description": "At most this many signed deliveries (`60/min`, `10/s`, `500/h`), "
            "as a token bucket that allows a burst of that many; more are answered 429.",
        },
        "max_body": {
            "type": "integer",
            "minimum": 1,
            "default": 1048576,
            "description": "The largest body accepted, in bytes (default 1 MiB); a larger "
            "one is answered 413.",
        },
        "params": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": "The run's params: each a Jinja2 template over `payload` (the JSON "
            'body), `headers`, `event` and `delivery` (`ref: "{{ payload.ref }}"`), rendered '
            "in a sandbox for each delivery. One whose value is missing is left out.",
        },
        "events": {
            "type": "array",
            "items": {"type": "string", "minLength": 1},
            "minItems": 1,
            "description": "Only these events fire (`X-GitHub-Event` for github, "
            "`X-Corral-Event` for generic); others are answered 204 and start nothing.",
        },
    },
}
