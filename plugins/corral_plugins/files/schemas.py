"""The JSON Schemas of the ``files`` steps' arguments, and the properties they share.

Plain data, so that registering the steps imports nothing else: the step code is in
:mod:`.content`, :mod:`.paths`, :mod:`.lines`, :mod:`.block` and :mod:`.replace`, imported
when a step first runs. Other plugins' schemas use ``MODE_PROPERTY``, ``OWNER_PROPERTY``
and ``GROUP_PROPERTY`` (:mod:`.attributes` re-exports them).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "ASSEMBLE_SCHEMA",
    "BLOCKINFILE_SCHEMA",
    "COPY_SCHEMA",
    "EDIT_PROPERTIES",
    "FILE_SCHEMA",
    "GROUP_PROPERTY",
    "LINEINFILE_SCHEMA",
    "MODE_PROPERTY",
    "OWNER_PROPERTY",
    "PATH_REQUIRED",
    "REPLACE_SCHEMA",
    "STAT_SCHEMA",
    "TEMPLATE_SCHEMA",
]

MODE_PROPERTY: Mapping[str, Any] = {
    "anyOf": [
        {"type": "string", "pattern": "^0?[0-7]{3,4}$"},
        {"type": "integer", "minimum": 0, "maximum": 0o7777},
    ],
    "description": "Permissions, as an octal string (`'0644'`) or a number "
    "(YAML `0644` is octal; a bare `644` is decimal, as in Ansible).",
}

OWNER_PROPERTY: Mapping[str, Any] = {
    "type": "string",
    "description": "The user that should own it (a name or a numeric id).",
}

GROUP_PROPERTY: Mapping[str, Any] = {
    "type": "string",
    "description": "The group that should own it (a name or a numeric id).",
}

# -- copy and template ------------------------------------------------------------------

_WRITE_PROPERTIES: dict[str, Any] = {
    "dest": {
        "type": "string",
        "description": "Where to write on the host. An existing directory, or a path "
        "ending in `/`, gets the source's file name appended.",
    },
    "mode": MODE_PROPERTY,
    "owner": OWNER_PROPERTY,
    "group": GROUP_PROPERTY,
    "backup": {
        "type": "boolean",
        "default": False,
        "description": "Keep the old file as `<dest>.<pid>.<time>~` before replacing it; "
        "its path is returned as `backup_file`.",
    },
    "force": {
        "type": "boolean",
        "default": True,
        "description": "Replace a file whose content differs; with `false`, only write "
        "when `dest` does not exist yet.",
    },
    "validate": {
        "type": "string",
        "pattern": "%s",
        "description": "A command run on the new file before it replaces `dest`, with "
        "`%s` standing for its path (e.g. `visudo -cf %s`); a non-zero exit fails the step.",
    },
}

COPY_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["dest"],
    "oneOf": [{"required": ["src"]}, {"required": ["content"]}],
    "properties": {
        "src": {
            "type": "string",
            "description": "A local file or directory to copy, looked up in `files/` "
            "beside the task file, then beside it. A directory is copied recursively: "
            "`dir/` copies its contents, `dir` the directory itself.",
        },
        "content": {
            "description": "The text to write instead of `src`; a list or mapping is "
            "written as JSON.",
        },
        **_WRITE_PROPERTIES,
    },
}

ASSEMBLE_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["src", "dest"],
    "properties": {
        "src": {
            "type": "string",
            "description": "The directory of fragments: on the host, or with "
            "`remote_src: false` on the controller (looked up as `copy` looks up `src`).",
        },
        "remote_src": {
            "type": "boolean",
            "default": True,
            "description": "Whether `src` is on the host (true) or on the controller.",
        },
        "delimiter": {
            "type": "string",
            "description": "Text put between two fragments (backslash escapes such as `\\n` "
            "are decoded), followed by a newline.",
        },
        "regexp": {
            "type": "string",
            "description": "Only the fragments whose file names this regular expression "
            "finds (Python `re.search`).",
        },
        "ignore_hidden": {
            "type": "boolean",
            "default": False,
            "description": "Leave out fragments whose names start with a dot.",
        },
        "decrypt": {
            "type": "boolean",
            "default": True,
            "description": "Decrypt vault-encrypted fragments of the controller "
            "(`remote_src: false`).",
        },
        **{k: v for k, v in _WRITE_PROPERTIES.items() if k != "force"},
        "dest": {"type": "string", "description": "The file to write on the host."},
    },
}

TEMPLATE_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["src", "dest"],
    "properties": {
        "src": {
            "type": "string",
            "description": "A local Jinja2 template, looked up in `templates/` beside the "
            "task file, then beside it; rendered with the host's variables.",
        },
        **_WRITE_PROPERTIES,
    },
}

# -- file and stat ----------------------------------------------------------------------

_PATH_DESCRIPTION = "The path on the host to manage."
FILE_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "oneOf": [{"required": ["path"]}, {"required": ["dest"]}, {"required": ["name"]}],
    "if": {"properties": {"state": {"enum": ["link", "hard"]}}, "required": ["state"]},
    "then": {"required": ["src"]},
    "properties": {
        "path": {"type": "string", "description": _PATH_DESCRIPTION},
        "dest": {"type": "string", "description": "Another name for `path`."},
        "name": {"type": "string", "description": "Another name for `path`."},
        "state": {
            "enum": ["file", "directory", "touch", "absent", "link", "hard"],
            "description": "`file`: it must exist, set its attributes; `directory`: create it "
            "and its parents; `touch`: create an empty file or update its times; `absent`: "
            "remove it (recursively); `link`/`hard`: a symbolic/hard link to `src`. Default: "
            "`directory` with `recurse` or for an existing directory, else `file`.",
        },
        "src": {
            "type": "string",
            "description": "The link target for `state: link` or `hard`; a relative one is "
            "relative to the link's directory.",
        },
        "mode": MODE_PROPERTY,
        "owner": OWNER_PROPERTY,
        "group": GROUP_PROPERTY,
        "recurse": {
            "type": "boolean",
            "default": False,
            "description": "With `state: directory`, apply mode/owner/group to everything "
            "inside too (symlinks excepted).",
        },
        "force": {
            "type": "boolean",
            "default": False,
            "description": "For links: replace an existing file or empty directory, and "
            "create a symlink whose target does not exist yet.",
        },
    },
}

STAT_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["path"],
    "properties": {
        "path": {"type": "string", "description": "The path on the host to describe."},
        "follow": {
            "type": "boolean",
            "default": False,
            "description": "Describe what a symlink points to instead of the link.",
        },
        "get_checksum": {
            "type": "boolean",
            "default": True,
            "description": "Compute the sha1 `checksum` of a regular file.",
        },
        "checksum_algorithm": {
            "enum": ["sha1"],
            "default": "sha1",
            "description": "The checksum algorithm; only `sha1` is supported.",
        },
        "get_mime": {
            "type": "boolean",
            "description": "Accepted for Ansible compatibility and ignored.",
        },
        "get_attributes": {
            "type": "boolean",
            "description": "Accepted for Ansible compatibility and ignored.",
        },
    },
}

# -- the in-place edits: lineinfile, blockinfile, replace --------------------------------

# ``path`` is required unless one of its aliases is given: as if/then, so that a task
# without any says "'path' is a required property" rather than a schema riddle.
PATH_REQUIRED: dict[str, Any] = {
    "if": {"not": {"anyOf": [{"required": [key]} for key in ("dest", "destfile", "name")]}},
    "then": {"required": ["path"]},
}

EDIT_PROPERTIES: dict[str, Any] = {
    "path": {"type": "string", "description": "The file on the host to edit."},
    "dest": {"type": "string", "description": "Another name for `path`."},
    "destfile": {"type": "string", "description": "Another name for `path`."},
    "name": {"type": "string", "description": "Another name for `path`."},
    "backup": {
        "type": "boolean",
        "default": False,
        "description": "Keep the old file as `<path>.<pid>.<time>~` before changing it.",
    },
    "validate": {
        "type": "string",
        "description": "A command run on the host on a temporary copy of the new content, "
        "with `%s` standing for its path (e.g. `visudo -cf %s`); if it fails, the file is "
        "left as it was, byte for byte, and the step fails with the command's output.",
    },
    "mode": MODE_PROPERTY,
    "owner": OWNER_PROPERTY,
    "group": GROUP_PROPERTY,
    "unsafe_writes": {
        "type": "boolean",
        "description": "Accepted for Ansible compatibility and ignored: writes are always atomic.",
    },
}

LINEINFILE_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    **PATH_REQUIRED,
    "properties": {
        **EDIT_PROPERTIES,
        "line": {
            "type": "string",
            "description": "The line to put in the file (required with `state: present`).",
        },
        "value": {"type": "string", "description": "Another name for `line`."},
        "regexp": {
            "type": "string",
            "description": "A Python regular expression searched in each line: with "
            "`state: present` the last matching line is replaced by `line`; with `absent` "
            "every matching line is removed.",
        },
        "regex": {"type": "string", "description": "Another name for `regexp`."},
        "search_string": {
            "type": "string",
            "description": "A literal string to look for in each line, instead of `regexp`.",
        },
        "state": {
            "enum": ["present", "absent"],
            "default": "present",
            "description": "Whether the line should be there or not.",
        },
        "insertafter": {
            "type": "string",
            "description": "When no line matches: add `line` after the last line matching "
            "this regular expression, or at `EOF` (the default) or `BOF`.",
        },
        "insertbefore": {
            "type": "string",
            "description": "When no line matches: add `line` before the last line matching "
            "this regular expression, or at `BOF`.",
        },
        "firstmatch": {
            "type": "boolean",
            "default": False,
            "description": "Use the first matching line (of `regexp` or of `insertafter`/"
            "`insertbefore`) instead of the last.",
        },
        "backrefs": {
            "type": "boolean",
            "default": False,
            "description": "Expand `\\1`, `\\g<name>` in `line` from the `regexp` match; when "
            "the regexp matches nothing, the file is left as it is.",
        },
        "create": {
            "type": "boolean",
            "default": False,
            "description": "Create the file (and its directory) when it does not exist.",
        },
    },
}

BLOCKINFILE_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    **PATH_REQUIRED,
    "properties": {
        **EDIT_PROPERTIES,
        "block": {
            "type": "string",
            "default": "",
            "description": "The text to put between the markers; empty removes the block.",
        },
        "content": {"type": "string", "description": "Another name for `block`."},
        "marker": {
            "type": "string",
            "default": "# {mark} ANSIBLE MANAGED BLOCK",
            "description": "The marker line template; `{mark}` becomes `marker_begin` or "
            "`marker_end`. Use a comment syntax the file accepts.",
        },
        "marker_begin": {
            "type": "string",
            "default": "BEGIN",
            "description": "What `{mark}` becomes in the first marker line.",
        },
        "marker_end": {
            "type": "string",
            "default": "END",
            "description": "What `{mark}` becomes in the last marker line.",
        },
        "state": {
            "enum": ["present", "absent"],
            "default": "present",
            "description": "Whether the block should be there or not.",
        },
        "insertafter": {
            "type": "string",
            "description": "Where a new block goes: after the last line matching this "
            "regular expression, or at `EOF` (the default).",
        },
        "insertbefore": {
            "type": "string",
            "description": "Where a new block goes: before the last line matching this "
            "regular expression, or at `BOF`.",
        },
        "create": {
            "type": "boolean",
            "default": False,
            "description": "Create the file (and its directory) when it does not exist.",
        },
        "append_newline": {
            "type": "boolean",
            "default": False,
            "description": "Add a blank line after the block unless one is there or the "
            "block ends the file.",
        },
        "prepend_newline": {
            "type": "boolean",
            "default": False,
            "description": "Add a blank line before the block unless one is there or the "
            "block starts the file.",
        },
    },
}

REPLACE_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["regexp"],
    **PATH_REQUIRED,
    "properties": {
        **EDIT_PROPERTIES,
        "regexp": {
            "type": "string",
            "description": "A Python regular expression, MULTILINE: every match is replaced.",
        },
        "replace": {
            "type": "string",
            "default": "",
            "description": "What each match becomes; `\\1` and `\\g<name>` insert groups. "
            "Empty (the default) removes the matches.",
        },
        "after": {
            "type": "string",
            "description": "Only replace in the text after the first match of this regular "
            "expression (DOTALL).",
        },
        "before": {
            "type": "string",
            "description": "Only replace in the text before the match of this regular "
            "expression (DOTALL).",
        },
        "encoding": {
            "type": "string",
            "default": "utf-8",
            "description": "The file's character encoding.",
        },
    },
}
