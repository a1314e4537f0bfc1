"""File names a playbook gives (``import_tasks``, ``include_tasks``, ``vars_files``, ...)."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from corral.errors import Location, PlaybookError

__all__ = ["usable_path"]


def usable_path(path: Path, where: Location) -> Path:
    """``path``, or a :class:`PlaybookError` at ``where`` if no file can have that name.

    ``Path.resolve()`` and ``Path.is_file()`` raise on such names (a NUL character, a
    name longer than the system allows) instead of answering "no such file".
    """
    try:
        os.stat(path)
    except ValueError as exc:  # "embedded null byte", or a character with no encoding
        reason = "it contains a NUL character" if "\0" in str(path) else str(exc)
    except OSError as exc:
        if exc.errno != errno.ENAMETOOLONG:
            return path  # not found and the like: each caller says what was missing
        reason = "the name is longer than the system allows"
    else:
        return path
    name = path.name if len(path.name) <= 60 else path.name[:57] + "..."
    raise PlaybookError(f"invalid file name {name!r}: {reason}", location=where)
