"""The keywords of plays, blocks and tasks, and the JSON Schema of their values.

This is the core's part of the playbook schema; each step type contributes the
schema of its own arguments (see :mod:`corral.playbook.args`).
"""

from __future__ import annotations

from typing import Any

STRINGS: dict[str, Any] = {
    "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]
}
CONDITION: dict[str, Any] = {
    "anyOf": [
        {"type": ["string", "boolean"]},
        {"type": "array", "items": {"type": ["string", "boolean"]}},
    ]
}
TEMPLATED_BOOL: dict[str, Any] = {"type": ["boolean", "string"]}
TEMPLATED_INT: dict[str, Any] = {"type": ["integer", "string"]}
MAPPING: dict[str, Any] = {"type": "object"}
IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_]*$"

# ``with_<lookup>`` loops corral knows: each is ``query('<lookup>', ...)`` over its terms,
# as in Ansible (see corral.engine.loops).
WITH_LOOKUPS = (
    "items",
    "list",
    "dict",
    "fileglob",
    "first_found",
    "together",
    "subelements",
    "sequence",
    "nested",
    "cartesian",
    "indexed_items",
    "random_choice",
    "flattened",
    "lines",
    "inventory_hostnames",
    "env",
    "file",
    "template",
    "vars",
)
LOOP_KEYS = ("loop", *(f"with_{name}" for name in WITH_LOOKUPS))

# Keywords shared by tasks, blocks and plays, which children inherit.
INHERITED: dict[str, Any] = {
    "become": TEMPLATED_BOOL,
    "become_user": {"type": "string"},
    "become_method": {"type": "string", "enum": ["sudo"]},
    "check_mode": TEMPLATED_BOOL,
    "diff": TEMPLATED_BOOL,
    "environment": {"anyOf": [MAPPING, {"type": "string"}]},
    "ignore_errors": TEMPLATED_BOOL,
    "ignore_unreachable": TEMPLATED_BOOL,
    "no_log": TEMPLATED_BOOL,
    "run_once": TEMPLATED_BOOL,
    "tags": {"anyOf": [{"type": ["string", "integer"]}, {"type": "array"}]},
    "vars": MAPPING,
    "delegate_to": {"type": "string"},
    "any_errors_fatal": TEMPLATED_BOOL,
    "timeout": {"type": ["integer", "number", "string", "null"]},
    "collections": {"type": "array"},
    "debugger": {"type": "string"},
    "throttle": TEMPLATED_INT,
    "connection": {"type": "string"},  # the connection type, below the host's ansible_connection
}

# The keywords a play or block pushes down to its tasks (when, tags, vars join apart).
INHERITABLE: tuple[str, ...] = (
    "become",
    "become_user",
    "check_mode",
    "diff",
    "environment",
    "ignore_errors",
    "ignore_unreachable",
    "no_log",
    "run_once",
    "delegate_to",
    "timeout",
    "throttle",
    "connection",
)

TASK: dict[str, Any] = {
    **INHERITED,
    "name": {"type": ["string", "null"]},  # null: shown as the action (or hosts), as in Ansible
    "when": CONDITION,
    "loop": {"type": ["array", "string", "object"]},
    **{key: {} for key in LOOP_KEYS[1:]},
    "loop_control": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "loop_var": {"type": "string", "pattern": IDENTIFIER},
            "index_var": {"type": "string", "pattern": IDENTIFIER},
            "label": {},
            "pause": {"type": ["number", "string"]},
            "extended": TEMPLATED_BOOL,
            "extended_allitems": TEMPLATED_BOOL,
            "break_when": CONDITION,
        },
    },
    "async": {"type": ["integer", "string"]},
    "poll": {"type": ["integer", "string"]},
    "register": {"type": "string"},
    "until": CONDITION,
    "retries": TEMPLATED_INT,
    "delay": {"type": ["integer", "number", "string"]},
    "failed_when": CONDITION,
    "changed_when": CONDITION,
    "notify": STRINGS,
    "listen": STRINGS,
    "args": MAPPING,
    "retry": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "attempts": {"type": ["integer", "string"], "minimum": 1},
            "delay": {"type": ["number", "string"]},
            "backoff": {"type": "string", "enum": ["fixed", "linear", "exponential"]},
            "max_delay": {"type": ["number", "string"]},
            "jitter": {"type": ["boolean", "number"]},
            "on": {"type": "array", "items": {"enum": ["failed", "unreachable", "timeout"]}},
        },
    },
    "critical": TEMPLATED_BOOL,
    "rollback": {"type": "array"},
}

BLOCK: dict[str, Any] = {
    **INHERITED,
    "name": {"type": ["string", "null"]},  # null: shown as the action (or hosts), as in Ansible
    "when": CONDITION,
    "block": {"type": "array"},
    "rescue": {"type": "array"},
    "always": {"type": "array"},
}

INCLUDE: dict[str, Any] = {
    "name": {"type": ["string", "null"]},  # null: shown as the action (or hosts), as in Ansible
    "when": CONDITION,
    "loop": {"type": ["array", "string"]},
    **{key: {} for key in LOOP_KEYS[1:]},
    "loop_control": MAPPING,
    "vars": MAPPING,
    "tags": INHERITED["tags"],
    "include_tasks": {"anyOf": [{"type": "string"}, MAPPING]},
    "import_tasks": {"type": "string"},
    "args": MAPPING,
}

PLAY: dict[str, Any] = {
    **INHERITED,
    "name": {"type": ["string", "null"]},  # null: shown as the action (or hosts), as in Ansible
    "hosts": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
    "vars_files": {"type": "array"},
    "gather_facts": TEMPLATED_BOOL,
    "serial": {"anyOf": [{"type": ["integer", "string"]}, {"type": "array"}]},
    "max_fail_percentage": {"type": ["integer", "number", "string"]},
    "strategy": {"type": "string", "enum": ["linear", "free"]},
    "pre_tasks": {"type": ["array", "null"]},
    "tasks": {"type": ["array", "null"]},
    "post_tasks": {"type": ["array", "null"]},
    "handlers": {"type": ["array", "null"]},
    "order": {
        "type": "string",
        "enum": ["inventory", "reverse_inventory", "sorted", "reverse_sorted"],
    },
    "remote_user": {"type": "string"},
    "user": {"type": "string"},  # the older name of remote_user
    "force_handlers": {"type": "boolean"},
    "vars_prompt": {"type": ["array", "object"]},
    "needs": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
    "max_failures": {"type": ["integer", "string"]},
    # Named resources leased for the whole run, besides its hosts (corral.store.leases).
    "locks": {"type": "array", "items": {"type": "string", "minLength": 1}},
    "params": {"type": "object", "additionalProperties": {"type": "object"}},
    "approval": {"anyOf": [{"type": "string"}, MAPPING]},
    "rollback": {"type": "array"},
    "roles": {"type": ["array", "null"]},
    # Each entry names one trigger type: ``- cron: {schedule: "30 2 * * *"}``.
    "triggers": {
        "type": "array",
        "items": {"type": "object", "minProperties": 1, "maxProperties": 1},
    },
}

TASK_SECTIONS = ("pre_tasks", "tasks", "post_tasks")


def object_schema(properties: dict[str, Any]) -> dict[str, Any]:
    """A JSON Schema object with exactly these keywords (unknown ones are reported separately)."""
    return {"type": "object", "properties": properties}
