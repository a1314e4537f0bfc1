"""A play's ``vars_files``: static files are read at load time, templated names later."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from corral.errors import Location, PlaybookError
from corral.playbook.args import is_templated
from corral.playbook.filenames import usable_path
from corral.playbook.keyword_values import as_tuple, item_location
from corral.playbook.yaml.marked import unmark

__all__ = ["load_vars_files"]


def load_vars_files(
    read: Callable[[Path, Location], Any], value: Any, base_dir: Path, where: Location
) -> tuple[Any, ...]:
    """Load static var files now (a missing one is an error); keep templated names for later."""
    from corral.playbook.loader import display_path

    loaded: list[Any] = []
    for index, item in enumerate(as_tuple(value)):
        item_where = item_location(value, index, where)
        candidates = item if isinstance(item, list) else [item]
        if not candidates:
            raise PlaybookError("vars_files entry [] names no file", location=item_where)
        if any(is_templated(c) for c in candidates):
            loaded.append(unmark(item))
            continue
        for candidate in candidates:
            path = usable_path(base_dir / str(candidate), item_where)
            if path.is_file():
                data = read(path, item_where)
                if data is not None and not isinstance(data, Mapping):
                    raise PlaybookError(
                        f"vars file {candidate!r} must hold a mapping",
                        location=Location(display_path(path), 1, 1),
                    )
                loaded.append(unmark(dict(data or {})))
                break
        else:
            raise PlaybookError(
                f"vars file {candidates[0]!r} not found",
                hint="paths are relative to the playbook's directory, "
                f"{display_path(base_dir) or '.'}",
                location=item_where,
            )
    return tuple(loaded)
