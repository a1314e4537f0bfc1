"""The JSON Schema of ``unarchive``'s arguments (Ansible's names)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from corral_plugins.files.schemas import GROUP_PROPERTY, MODE_PROPERTY, OWNER_PROPERTY

__all__ = ["UNARCHIVE_SCHEMA"]

_STRINGS = {"type": "array", "items": {"type": "string"}}

UNARCHIVE_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["src", "dest"],
    "properties": {
        "src": {
            "type": "string",
            "description": "The archive (tar, tar.gz/tgz, tar.bz2, tar.xz or zip): a file on "
            "the controller (looked up in `files/`), on the host with `remote_src`, or an "
            "`http(s)://` URL (downloaded from the controller).",
        },
        "dest": {
            "type": "string",
            "description": "The existing directory on the host to extract into.",
        },
        "remote_src": {
            "type": "boolean",
            "default": False,
            "description": "`src` is a path on the host.",
        },
        "copy": {
            "type": "boolean",
            "description": "Ansible's old name: `copy: false` means `remote_src: true`.",
        },
        "creates": {
            "type": "string",
            "description": "A path on the host; when it exists, nothing is extracted.",
        },
        "list_files": {
            "type": "boolean",
            "default": False,
            "description": "Return the archive's member names as `files`.",
        },
        "include": {
            **_STRINGS,
            "description": "Extract only the members matching these globs.",
        },
        "exclude": {
            **_STRINGS,
            "description": "Leave out the members matching these globs.",
        },
        "keep_newer": {
            "type": "boolean",
            "default": False,
            "description": "Leave alone files at `dest` newer than the archive's.",
        },
        "extra_opts": {
            **_STRINGS,
            "description": "Accepted for Ansible playbooks and ignored (a warning says so): "
            "the archive is read by corral, not by the host's tar or unzip.",
        },
        "validate_certs": {
            "type": "boolean",
            "default": True,
            "description": "For a URL `src`: verify the server's TLS certificate.",
        },
        "decrypt": {
            "type": "boolean",
            "default": True,
            "description": "Accepted for Ansible playbooks; vault-encrypted archives are "
            "not supported.",
        },
        "mode": MODE_PROPERTY,
        "owner": OWNER_PROPERTY,
        "group": GROUP_PROPERTY,
    },
}
