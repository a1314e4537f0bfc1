"""JSON Schemas of the ``user``, ``group`` and ``getent`` steps (Ansible's argument names)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["GETENT_SCHEMA", "GROUP_SCHEMA", "USER_SCHEMA"]


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
