"""JSON Schemas of the system family's steps (Ansible's argument names).

Plain data, kept apart from the steps' code: registering the steps imports this module
only, and each step's module is imported when a task first runs it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "CRON_SCHEMA",
    "DEBCONF_SCHEMA",
    "HOSTNAME_SCHEMA",
    "LOCALE_GEN_SCHEMA",
    "MODPROBE_SCHEMA",
    "MOUNT_SCHEMA",
    "REBOOT_SCHEMA",
    "SYSCTL_SCHEMA",
    "TIMEZONE_SCHEMA",
]


# cron
SPECIAL_TIMES = ("reboot", "yearly", "annually", "monthly", "weekly", "daily", "hourly")


def _time_field(description: str) -> dict[str, Any]:
    return {"type": "string", "default": "*", "description": description}


CRON_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {
        "name": {
            "type": "string",
            "description": "The entry's name (its `#Ansible: NAME` marker), or with `env`, "
            "the variable's name.",
        },
        "job": {
            "type": "string",
            "description": "The command to run, or with `env`, the variable's value.",
        },
        "value": {"type": "string", "description": "Another name for `job`."},
        "user": {
            "type": "string",
            "description": "Whose crontab (default: the user the task runs as); with "
            "`cron_file`, the user the entry runs as.",
        },
        "cron_file": {
            "type": "string",
            "description": "Manage this file instead of a user's crontab: a name in "
            "`/etc/cron.d`, or an absolute path. Needs `user`.",
        },
        "state": {
            "enum": ["present", "absent"],
            "default": "present",
            "description": "Whether the entry should be there.",
        },
        "minute": _time_field("Minute (`0-59`, `*/5`, ...)."),
        "hour": _time_field("Hour (`0-23`, ...)."),
        "day": _time_field("Day of the month (`1-31`, ...)."),
        "dom": {"type": "string", "description": "Another name for `day`."},
        "month": _time_field("Month (`1-12`, ...)."),
        "weekday": _time_field("Day of the week (`0-6` for Sunday-Saturday, ...)."),
        "dow": {"type": "string", "description": "Another name for `weekday`."},
        "special_time": {
            "enum": list(SPECIAL_TIMES),
            "description": "`@reboot`, `@daily`... instead of the time fields.",
        },
        "disabled": {
            "type": "boolean",
            "default": False,
            "description": "Keep the entry, commented out.",
        },
        "env": {
            "type": "boolean",
            "default": False,
            "description": 'Manage an environment variable (`NAME="job"`) instead of a job.',
        },
        "insertafter": {
            "type": "string",
            "description": "With `env`: put a new variable after this variable.",
        },
        "insertbefore": {
            "type": "string",
            "description": "With `env`: put a new variable before this variable.",
        },
        "backup": {
            "type": "boolean",
            "default": False,
            "description": "Save the old crontab in a temporary file on the host first; "
            "its path is returned as `backup_file`.",
        },
    },
}


# debconf
VTYPES = (
    "boolean", "error", "multiselect", "note", "password", "seen", "select", "string", "text",
    "title",
)  # fmt: skip


def _alias(of: str) -> dict[str, Any]:
    return {"type": "string", "description": f"Another name for `{of}`."}


DEBCONF_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "anyOf": [{"required": ["name"]}, {"required": ["pkg"]}],
    "properties": {
        "name": {"type": "string", "description": "The package whose questions these are."},
        "pkg": _alias("name"),
        "question": {
            "type": "string",
            "description": "The question (`tzdata/Areas`); without it, the step only reads "
            "the package's answers into `current`.",
        },
        "selection": _alias("question"),
        "setting": _alias("question"),
        "vtype": {"enum": list(VTYPES), "description": "The question's type."},
        "value": {
            "type": ["string", "boolean", "integer", "number", "array"],
            "description": "The answer (a list for `multiselect`).",
        },
        "answer": {
            "type": ["string", "boolean", "integer", "number", "array"],
            "description": "Another name for `value`.",
        },
        "unseen": {
            "type": "boolean",
            "default": False,
            "description": "Do not mark the question as seen (`debconf-set-selections -u`).",
        },
    },
}


# hostname
HOSTNAME_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "minLength": 1, "description": "The host's new name."},
        "use": {
            "enum": ["systemd", "debian", "generic"],
            "description": "How to set it (default: `systemd` where systemd runs, else "
            "`/etc/hostname` only).",
        },
    },
}


# locale_gen
LOCALE_GEN_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {
        "name": {
            "type": ["string", "array"],
            "items": {"type": "string"},
            "description": "The locale (`en_US.UTF-8`), or a list of them.",
        },
        "state": {
            "enum": ["present", "absent"],
            "default": "present",
            "description": "Whether the locale should be compiled.",
        },
    },
}


# modprobe
MODPROBE_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "minLength": 1, "description": "The module's name."},
        "state": {
            "enum": ["present", "absent"],
            "default": "present",
            "description": "Whether the module should be loaded.",
        },
        "params": {
            "type": "string",
            "default": "",
            "description": "Parameters to load it with (`numdummies=2`).",
        },
        "persistent": {
            "enum": ["disabled", "present", "absent"],
            "default": "disabled",
            "description": "`present`: load it at boot (`/etc/modules-load.d/`, with its "
            "params in `/etc/modprobe.d/`); `absent`: remove those files; `disabled`: "
            "leave them alone.",
        },
    },
}


# mount
_MOUNT_STATES = ["mounted", "unmounted", "present", "absent", "absent_from_fstab", "remounted"]


MOUNT_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["state"],
    "anyOf": [{"required": ["path"]}, {"required": ["name"]}],
    "properties": {
        "path": {"type": "string", "description": "The mount point."},
        "name": {"type": "string", "description": "Another name for `path`."},
        "src": {"type": "string", "description": "The device (or `UUID=`, `LABEL=`, share)."},
        "fstype": {"type": "string", "description": "The file system type."},
        "opts": {"type": "string", "description": "Mount options; default `defaults`."},
        "dump": {"type": "string", "default": "0", "description": "fstab's fifth field."},
        "passno": {"type": "string", "default": "0", "description": "fstab's sixth field."},
        "state": {"enum": [*_MOUNT_STATES, "ephemeral"], "description": "See above."},
        "fstab": {"type": "string", "description": "The file; default `/etc/fstab`."},
        "boot": {
            "type": "boolean",
            "default": True,
            "description": "`false` adds `noauto` to the options.",
        },
        "backup": {
            "type": "boolean",
            "default": False,
            "description": "Copy the file aside (`FILE.PID.DATE@TIME~`) before changing it.",
        },
        "opts_no_log": {"type": "boolean", "default": False, "description": "Accepted."},
    },
}


# reboot
_SECONDS = {"type": "integer", "minimum": 0}


REBOOT_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "reboot_timeout": _SECONDS | {"default": 600, "description": "Seconds to wait."},
        "connect_timeout": _SECONDS | {"description": "Seconds one connection try may take."},
        "pre_reboot_delay": _SECONDS | {"default": 0, "description": "Given to shutdown."},
        "post_reboot_delay": _SECONDS | {"default": 0, "description": "Sleep, then check."},
        "test_command": {
            "type": "string",
            "default": "whoami",
            "description": "Must succeed before the host counts as back.",
        },
        "msg": {
            "type": "string",
            "default": "Reboot initiated by Ansible",
            "description": "The message shutdown broadcasts.",
        },
        "reboot_command": {
            "type": "string",
            "description": "Run instead of shutdown (with its arguments).",
        },
        "boot_time_command": {
            "type": "string",
            "default": "cat /proc/sys/kernel/random/boot_id",
            "description": "Prints something that changes with every boot.",
        },
        "search_paths": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Accepted; shutdown is found on the host's PATH.",
        },
    },
}


# sysctl
SYSCTL_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "anyOf": [{"required": ["name"]}, {"required": ["key"]}],
    "properties": {
        "name": {"type": "string", "description": "The parameter (`net.ipv4.ip_forward`)."},
        "key": {"type": "string", "description": "Another name for `name`."},
        "value": {
            "type": ["string", "integer", "number", "boolean"],
            "description": "Its value; required with `state: present`. Booleans and "
            "`yes`/`no` become `1`/`0`, as in Ansible.",
        },
        "val": {
            "type": ["string", "integer", "number", "boolean"],
            "description": "Another name for `value`.",
        },
        "state": {
            "enum": ["present", "absent"],
            "default": "present",
            "description": "Whether the parameter is in the file.",
        },
        "sysctl_file": {
            "type": "string",
            "default": "/etc/sysctl.conf",
            "description": "The file to edit (a file in `/etc/sysctl.d/` is common).",
        },
        "sysctl_set": {
            "type": "boolean",
            "default": False,
            "description": "Also set the live value with `sysctl -w` when it differs.",
        },
        "reload": {
            "type": "boolean",
            "default": True,
            "description": "Load the file (`sysctl -p FILE`) after a change.",
        },
        "ignoreerrors": {
            "type": "boolean",
            "default": False,
            "description": "Pass `-e` to sysctl: unknown keys are not errors.",
        },
    },
}


# timezone
TIMEZONE_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {
        "name": {
            "type": "string",
            "description": "The zone, as a name under `/usr/share/zoneinfo` "
            "(`Europe/Paris`, `UTC`).",
        },
        "hwclock": {
            "enum": ["local", "UTC", "utc"],
            "description": "Whether the hardware clock keeps local time or UTC "
            "(systemd hosts: `timedatectl set-local-rtc`).",
        },
    },
}
