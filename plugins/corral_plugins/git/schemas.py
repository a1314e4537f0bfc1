"""JSON Schema of the ``git`` step (Ansible's argument names).

Plain data, kept apart from the step's code: registering ``git`` imports this module
only, and :mod:`corral_plugins.git.step` is imported when a task first runs it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["GIT_SCHEMA"]


def _flag(default: bool, description: str) -> dict[str, Any]:
    return {"type": "boolean", "default": default, "description": description}


def _text(description: str) -> dict[str, Any]:
    return {"type": "string", "description": description}


GIT_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "anyOf": [{"required": ["repo"]}, {"required": ["name"]}],
    "properties": {
        "repo": _text("The repository's URL or path (`file://`, `ssh://`, `user@host:path`...)."),
        "name": _text("Another name for `repo`."),
        "dest": _text("Where the checkout is on the host; required unless `clone: false`."),
        "version": {
            "type": "string",
            "default": "HEAD",
            "description": "A branch, tag or commit to check out; `HEAD` is the remote's "
            "default branch.",
        },
        "remote": {"type": "string", "default": "origin", "description": "The remote's name."},
        "depth": {
            "type": "integer",
            "minimum": 1,
            "description": "Make a shallow clone with this many commits (for HEAD, branches "
            "and tags).",
        },
        "force": _flag(False, "Throw away local changes to tracked files instead of failing."),
        "update": _flag(True, "Fetch and move an existing checkout; `false` leaves it as it is."),
        "clone": _flag(True, "Clone when `dest` is missing; `false` only asks the remote."),
        "bare": _flag(False, "Make a bare repository (no work tree)."),
        "single_branch": _flag(False, "Clone only the history of `version`."),
        "recursive": _flag(True, "Initialise and update submodules."),
        "track_submodules": _flag(False, "Move submodules to their remote branch's head."),
        "key_file": _text("The ssh private key on the host to reach the remote with."),
        "ssh_opts": _text("Extra ssh options, as one string (`-o Port=2222`)."),
        "accept_hostkey": _flag(
            False, "Accept an unknown ssh host key (`StrictHostKeyChecking=no`)."
        ),
        "accept_newhostkey": _flag(
            False,
            "Accept a new ssh host key but refuse a changed one "
            "(`StrictHostKeyChecking=accept-new`).",
        ),
        "refspec": _text("An extra refspec to fetch (`refs/pull/*/head`...)."),
        "reference": _text("A local repository to borrow objects from (`--reference`)."),
        "executable": _text("The git program to run (default: `git` from PATH)."),
    },
}
