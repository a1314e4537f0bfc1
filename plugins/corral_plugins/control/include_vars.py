"""``include_vars``: load variables from a YAML/JSON file or a directory of them.

Relative names are looked for as Ansible does: in the role's ``vars/`` (when the
task is in a role), next to the task file, then in the playbook's ``vars/`` and
directory. The variables are set on the host for the rest of the run, like
``set_fact``; with ``name`` they are nested under that one variable.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from corral import RegisterStep, StepContext, StepResult, StepType

__all__ = ["INCLUDE_VARS_SCHEMA", "include_vars", "register_steps"]

_STR_LIST = {"type": "array", "items": {"type": "string"}}

INCLUDE_VARS_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "file": {"type": "string", "description": "The vars file to load."},
        "dir": {
            "type": "string",
            "description": "A directory whose vars files are all loaded, in name order.",
        },
        "name": {
            "type": "string",
            "description": "Put the loaded variables under this one variable instead.",
        },
        "depth": {
            "type": "integer",
            "minimum": 0,
            "default": 0,
            "description": "With `dir`: how deep to descend; 0 means no limit.",
        },
        "files_matching": {
            "type": "string",
            "description": "With `dir`: load only files whose name matches this regex.",
        },
        "extensions": {
            **_STR_LIST,
            "default": ["yaml", "yml", "json"],
            "description": "With `dir`: the file extensions to load.",
        },
        "ignore_files": {
            **_STR_LIST,
            "description": "With `dir`: file names (regexes) to skip.",
        },
        "ignore_unknown_extensions": {
            "type": "boolean",
            "default": False,
            "description": "With `dir`: skip files with other extensions instead of failing.",
        },
        "hash_behaviour": {
            "type": "string",
            "enum": ["replace", "merge"],
            "description": "Accepted for Ansible compatibility; later files replace keys.",
        },
    },
    "oneOf": [{"required": ["file"]}, {"required": ["dir"]}],
}


def _locate(ctx: StepContext, name: str) -> Path | None:
    return ctx.find_file(name, "vars")


def _dir_files(root: Path, args: Mapping[str, Any]) -> tuple[list[Path], str | None]:
    """The files of ``root`` to load, in Ansible's order, or an error message."""
    depth = int(args.get("depth", 0))
    extensions = [str(e).lstrip(".") for e in args.get("extensions", ["yaml", "yml", "json"])]
    matching = re.compile(args["files_matching"]) if args.get("files_matching") else None
    ignore = [re.compile(p) for p in args.get("ignore_files", [])]
    found: list[Path] = []
    for current, dirs, files in os.walk(root):
        level = len(Path(current).relative_to(root).parts)
        dirs.sort()
        if depth and level + 1 >= depth:
            dirs[:] = []
        for name in sorted(files):
            if matching is not None and not matching.search(name):
                continue
            if any(p.search(name) for p in ignore):
                continue
            extension = name.rsplit(".", 1)[-1] if "." in name else ""
            if extension not in extensions:
                if args.get("ignore_unknown_extensions"):
                    continue
                return [], f"{Path(current) / name} does not have a valid extension: " + (
                    ", ".join(extensions)
                )
            found.append(Path(current) / name)
    return found, None


def _read(path: Path) -> Any:
    from corral.playbook.loader import display_path
    from corral.playbook.yaml.load import load_yaml_file
    from corral.playbook.yaml.marked import unmark

    return unmark(load_yaml_file(path, display_name=display_path(path)))


def include_vars(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Load variables from a file or directory and set them on the host."""
    key = "file" if "file" in args else "dir"
    path = _locate(ctx, str(args[key]))
    if path is None:
        searched = ", ".join(str(p) for p in ctx.search_paths)
        return StepResult(failed=True, msg=f"could not find {args[key]!r} (searched {searched})")
    if key == "dir":
        if not path.is_dir():
            return StepResult(failed=True, msg=f"{path} is not a directory")
        files, problem = _dir_files(path, args)
        if problem:
            return StepResult(failed=True, msg=problem)
    else:
        files = [path]
    loaded: dict[str, Any] = {}
    for file in files:
        data = _read(file)
        if data is None:
            continue
        if not isinstance(data, Mapping):
            return StepResult(failed=True, msg=f"{file} must hold a mapping of variables")
        loaded.update(data)
    # Values may refer to each other and to the host's variables, as in Ansible.
    rendered = ctx.render(loaded, loaded) if loaded else {}  # type: ignore[arg-type]
    values = {str(args["name"]): rendered} if args.get("name") else dict(rendered)
    return StepResult(
        set_vars=values,
        data={"ansible_facts": values, "ansible_included_var_files": [str(f) for f in files]},
    )


def register_steps(register: RegisterStep) -> None:
    """Register ``include_vars``."""
    register(
        StepType(
            name="include_vars",
            run=include_vars,
            schema=INCLUDE_VARS_SCHEMA,
            aliases=("ansible.builtin.include_vars", "ansible.legacy.include_vars"),
            check_mode=True,
            on="controller",
            free_form="file",
            description="Load variables from a YAML/JSON file or directory.",
        )
    )
