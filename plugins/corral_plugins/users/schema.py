"""JSON Schemas of the users family's steps (Ansible's argument names).

They are plain data, kept apart from the steps' code: registering the steps imports
this module only, and each step's module is imported when a task first runs it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "AUTHORIZED_KEY_SCHEMA",
    "GETENT_SCHEMA",
    "GROUP_SCHEMA",
    "KNOWN_HOSTS_SCHEMA",
    "USER_SCHEMA",
]


def _p(kind: str, description: str, **extra: Any) -> dict[str, Any]:
    return {"type": kind, "description": description, **extra}


_STATE = _p("string", "`present` or `absent`.", enum=["present", "absent"], default="present")

USER_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "name": _p("string", "The user's login name."),
        "user": _p("string", "Another name for `name`."),
        "state": _STATE,
        "uid": _p("integer", "The user's uid."),
        "non_unique": _p("boolean", "Allow a uid another user has (`-o`).", default=False),
        "group": _p("string", "The primary group, by name or gid; it must exist."),
        "groups": _p(
            "array",
            "Supplementary groups (list or comma-separated); `[]` or `''` removes them all "
            "unless `append`.",
            items={"type": "string"},
        ),
        "append": _p(
            "boolean", "Add `groups` to the user's groups instead of setting them.", default=False
        ),
        "comment": _p("string", "The GECOS field (full name)."),
        "home": _p("string", "The home directory."),
        "move_home": _p(
            "boolean", "With a new `home`, move the old one's content there.", default=False
        ),
        "create_home": _p("boolean", "Create the home from the skeleton (default `true`)."),
        "createhome": _p("boolean", "Another name for `create_home`."),
        "skeleton": _p("string", "The skeleton directory copied into a new home."),
        "shell": _p("string", "The login shell."),
        "system": _p("boolean", "Create a system account (only on creation).", default=False),
        "password": _p("string", "The password *hash* (as in /etc/shadow)."),
        "update_password": _p(
            "string",
            "`always` sets a differing hash; `on_create` only on creation.",
            enum=["always", "on_create"],
            default="always",
        ),
        "password_lock": _p("boolean", "Lock (`true`) or unlock (`false`) the password."),
        "expires": _p("number", "Account expiry as seconds since the epoch; negative: never."),
        "password_expire_max": _p("integer", "Maximum days between password changes."),
        "password_expire_min": _p("integer", "Minimum days between password changes."),
        "password_expire_warn": _p("integer", "Days of warning before the password expires."),
        "password_expire_account_disable": _p("integer", "Days after expiry until disabled."),
        "generate_ssh_key": _p(
            "boolean", "Generate an SSH key pair for the user if missing.", default=False
        ),
        "ssh_key_bits": _p(
            "integer", "Bits of the generated key (0: ssh-keygen's default).", default=0
        ),
        "ssh_key_type": _p("string", "Type of the generated key.", default="rsa"),
        "ssh_key_file": _p(
            "string", "The key's path, relative to the home (default `.ssh/id_<type>`)."
        ),
        "ssh_key_comment": _p(
            "string", "The key's comment (default `ansible-generated on <hostname>`)."
        ),
        "ssh_key_passphrase": _p("string", "A passphrase for the generated key."),
        "force": _p(
            "boolean",
            "With `absent`, remove even if logged in; overwrite an existing SSH key.",
            default=False,
        ),
        "remove": _p(
            "boolean", "With `absent`, remove the home directory and mail spool.", default=False
        ),
        "seuser": _p("string", "The SELinux user (`useradd -Z`)."),
        "umask": _p("string", "The umask of a new home directory."),
        "uid_min": _p("integer", "Lowest uid picked for a new user."),
        "uid_max": _p("integer", "Highest uid picked for a new user."),
        "local": _p("boolean", "Use the luseradd tools (not supported: fails when true)."),
        "hidden": _p("boolean", "macOS only; ignored."),
        "login_class": _p("string", "BSD only; ignored."),
        "profile": _p("string", "Solaris only; ignored."),
        "authorization": _p("string", "Solaris only; ignored."),
        "role": _p("string", "Solaris only; ignored."),
    },
}

GROUP_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {
        "name": _p("string", "The group's name."),
        "state": _STATE,
        "gid": _p("integer", "The group's gid."),
        "system": _p("boolean", "Create a system group (only on creation).", default=False),
        "non_unique": _p("boolean", "Allow a gid another group has (`-o`).", default=False),
        "force": _p("boolean", "With `absent`, remove even a user's primary group.", default=False),
        "gid_min": _p("integer", "Lowest gid picked for a new group."),
        "gid_max": _p("integer", "Highest gid picked for a new group."),
        "local": _p("boolean", "Use the lgroupadd tools (not supported: fails when true)."),
    },
}

GETENT_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["database"],
    "properties": {
        "database": _p("string", "The database: passwd, group, shadow, hosts, services..."),
        "key": _p("string", "The key to look up; all entries when not given."),
        "split": _p(
            "string", "Field separator (`:` for passwd/shadow/group/gshadow, else whitespace)."
        ),
        "fail_key": _p("boolean", "Fail when `key` is not found.", default=True),
        "service": _p("string", "The NSS service to ask (`getent -s`)."),
    },
}

AUTHORIZED_KEY_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["user", "key"],
    "properties": {
        "user": {"type": "string", "description": "Whose keys these are."},
        "key": {
            "type": ["string", "array"],
            "items": {"type": "string"},
            "description": "The public key line, or several (one a line, or a list). "
            "Lines starting with `#` are skipped. URLs are not fetched: see below.",
        },
        "path": {
            "type": "string",
            "description": "The file; default `~USER/.ssh/authorized_keys`.",
        },
        "manage_dir": {
            "type": "boolean",
            "default": True,
            "description": "Create the file's directory 0700 and give it to the user.",
        },
        "state": {
            "enum": ["present", "absent"],
            "default": "present",
            "description": "Whether the keys (with these options) are in the file.",
        },
        "key_options": {
            "type": "string",
            "description": 'Options for the key(s), as in the file (`no-pty,from="10.0.0.0/8"`).',
        },
        "exclusive": {
            "type": "boolean",
            "default": False,
            "description": "Remove every key not given here.",
        },
        "comment": {"type": "string", "description": "Replace the key's comment with this."},
        "follow": {
            "type": "boolean",
            "default": False,
            "description": "Write through a symlinked file instead of replacing the link.",
        },
        "validate_certs": {
            "type": "boolean",
            "default": True,
            "description": "Ignored (URLs are not fetched).",
        },
    },
}

KNOWN_HOSTS_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "anyOf": [{"required": ["name"]}, {"required": ["host"]}],
    "properties": {
        "name": {"type": "string", "description": "The host (`[host]:port` for a port)."},
        "host": {"type": "string", "description": "Another name for `name`."},
        "key": {
            "type": "string",
            "description": "The key line as `ssh-keyscan` prints it (`NAME TYPE BLOB`); "
            "required with `state: present`.",
        },
        "path": {
            "type": "string",
            "default": "~/.ssh/known_hosts",
            "description": "The file (`~` is the become user's home on the host).",
        },
        "hash_host": {
            "type": "boolean",
            "default": False,
            "description": "Write the host name hashed.",
        },
        "state": {
            "enum": ["present", "absent"],
            "default": "present",
            "description": "Whether the key (or, without `key`, any key of the host) is there.",
        },
    },
}
