"""The JSON Schemas of ``slurp``'s and ``tempfile``'s arguments.

The other steps' schemas are in :mod:`.find_schema`, :mod:`.archive_schema` and
:mod:`.unarchive_schema`: plain data, so that registering the steps imports no step code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["SLURP_SCHEMA", "TEMPFILE_SCHEMA"]

SLURP_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "oneOf": [{"required": ["src"]}, {"required": ["path"]}],
    "properties": {
        "src": {"type": "string", "description": "The file on the host to read (not a directory)."},
        "path": {"type": "string", "description": "Another name for `src`."},
    },
}

TEMPFILE_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "state": {
            "enum": ["file", "directory"],
            "default": "file",
            "description": "Create a `file` (mode 0600) or a `directory` (mode 0700).",
        },
        "path": {
            "type": "string",
            "description": "The directory to create it in; default `$TMPDIR`, else `/tmp`, "
            "on the host.",
        },
        "prefix": {
            "type": "string",
            "default": "ansible.",
            "description": "The start of the name (a file name component, no `/`).",
        },
        "suffix": {
            "type": "string",
            "default": "",
            "description": "The end of the name (a file name component, no `/`).",
        },
    },
}
