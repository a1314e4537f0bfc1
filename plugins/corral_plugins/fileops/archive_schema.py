"""The JSON Schema of ``archive``'s arguments (community.general.archive's names)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from corral_plugins.files.schemas import GROUP_PROPERTY, MODE_PROPERTY, OWNER_PROPERTY

__all__ = ["ARCHIVE_SCHEMA", "FORMATS"]

FORMATS = ("bz2", "gz", "tar", "xz", "zip")
_STRINGS = {"type": "array", "items": {"type": "string"}}

ARCHIVE_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["path"],
    "properties": {
        "path": {
            **_STRINGS,
            "description": "Files, directories or shell globs on the host to archive.",
        },
        "dest": {
            "type": "string",
            "description": "The archive to write; required unless `path` is one file "
            "(then `<path>.<format>`).",
        },
        "format": {
            "enum": list(FORMATS),
            "default": "gz",
            "description": "`gz`, `bz2`, `xz`: a compressed tar (or one compressed file); "
            "`tar`: a plain tar; `zip` needs `zip` or `python3` on the host.",
        },
        "exclude_path": {
            **_STRINGS,
            "description": "Paths or globs to leave out (and everything under them).",
        },
        "exclusion_patterns": {
            **_STRINGS,
            "description": "Globs of paths (or base names) to leave out.",
        },
        "force_archive": {
            "type": "boolean",
            "default": False,
            "description": "Make an archive even of a single file (instead of compressing it).",
        },
        "remove": {
            "type": "boolean",
            "default": False,
            "description": "Remove the source files once they are archived.",
        },
        "mode": MODE_PROPERTY,
        "owner": OWNER_PROPERTY,
        "group": GROUP_PROPERTY,
    },
}
