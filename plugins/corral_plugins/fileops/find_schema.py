"""The JSON Schema of ``find``'s arguments (Ansible's names and aliases)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["FIND_SCHEMA"]

_STRINGS = {"type": "array", "items": {"type": "string"}}
_PATHS = "Directories on the host to search (a comma-separated string works too)."
_PATTERNS = (
    "Shell globs (or Python regexes with `use_regex`) the base name must match; default all."
)

FIND_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "oneOf": [{"required": ["paths"]}, {"required": ["path"]}, {"required": ["name"]}],
    "properties": {
        "paths": {**_STRINGS, "description": _PATHS},
        "path": {**_STRINGS, "description": "Another name for `paths`."},
        "name": {**_STRINGS, "description": "Another name for `paths`."},
        "patterns": {**_STRINGS, "description": _PATTERNS},
        "pattern": {**_STRINGS, "description": "Another name for `patterns`."},
        "excludes": {**_STRINGS, "description": "Globs (or regexes) of base names to leave out."},
        "exclude": {**_STRINGS, "description": "Another name for `excludes`."},
        "use_regex": {
            "type": "boolean",
            "default": False,
            "description": "`patterns` and `excludes` are Python regexes matched at the start "
            "of the base name.",
        },
        "contains": {
            "type": "string",
            "description": "A Python regex a line of the file must match (from its start); "
            "only with `file_type: file`.",
        },
        "read_whole_file": {
            "type": "boolean",
            "default": False,
            "description": "Search `contains` in the whole file instead of line by line.",
        },
        "encoding": {
            "type": "string",
            "description": "The files' encoding for `contains` (default UTF-8).",
        },
        "file_type": {
            "enum": ["any", "directory", "file", "link"],
            "default": "file",
            "description": "The kind of entry to return.",
        },
        "age": {
            "type": "string",
            "description": "At least this old (`2d`, `4w`, `3600`; units s m h d w), or at "
            "most this old when negative.",
        },
        "age_stamp": {
            "enum": ["atime", "ctime", "mtime"],
            "default": "mtime",
            "description": "The time `age` looks at.",
        },
        "size": {
            "type": "string",
            "description": "At least this big (`10m`; units b k m g t), or at most when "
            "negative; regular files only.",
        },
        "recurse": {
            "type": "boolean",
            "default": False,
            "description": "Descend into subdirectories.",
        },
        "depth": {
            "type": "integer",
            "description": "With `recurse`, how many levels deep to go (1: direct children).",
        },
        "hidden": {
            "type": "boolean",
            "default": False,
            "description": "Return entries whose name starts with a dot.",
        },
        "follow": {
            "type": "boolean",
            "default": False,
            "description": "Descend into directories that symlinks point to.",
        },
        "get_checksum": {
            "type": "boolean",
            "default": False,
            "description": "Add each file's `checksum` (the host's `<algorithm>sum` tool).",
        },
        "checksum_algorithm": {
            "enum": ["md5", "sha1", "sha224", "sha256", "sha384", "sha512"],
            "default": "sha1",
            "description": "The algorithm of `checksum`.",
        },
        "checksum": {
            "enum": ["md5", "sha1", "sha224", "sha256", "sha384", "sha512"],
            "description": "Another name for `checksum_algorithm`.",
        },
        "checksum_algo": {
            "enum": ["md5", "sha1", "sha224", "sha256", "sha384", "sha512"],
            "description": "Another name for `checksum_algorithm`.",
        },
        "mode": {
            "type": "string",
            "description": "Permissions the entries must have (octal, such as `'0644'`).",
        },
        "exact_mode": {
            "type": "boolean",
            "default": True,
            "description": "`mode` must match exactly; with `false`, any of its bits.",
        },
        "limit": {
            "type": "integer",
            "minimum": 1,
            "description": "Return at most this many matches.",
        },
    },
}
