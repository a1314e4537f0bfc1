"""Where corral keeps its state on the controller, and keeping it private to its user.

``CORRAL_HOME`` holds the run store (params, host output, facts) and crash tracebacks:
nothing another local user should read. Directories corral creates there are 0700 and
files 0600, whatever the umask; :func:`private_dir` and :func:`make_private` also repair
what an older corral (or a permissive umask) left readable, and say what they changed so
the caller can warn once.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

__all__ = [
    "CRASH_DIR",
    "PRIVATE_DIR_MODE",
    "PRIVATE_FILE_MODE",
    "corral_home",
    "create_private_file",
    "make_private",
    "private_dir",
    "private_home",
    "warn_made_private",
]

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
CRASH_DIR = "crash"  # under CORRAL_HOME: tracebacks of internal errors


def corral_home(environ: Mapping[str, str]) -> Path:
    """``$CORRAL_HOME``, else ``$XDG_STATE_HOME/corral``, else ``~/.local/state/corral``."""
    if environ.get("CORRAL_HOME"):
        return Path(environ["CORRAL_HOME"]).expanduser()
    state = environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state).expanduser() / "corral"


def private_dir(path: Path) -> list[str]:
    """Make sure directory ``path`` exists and only its owner can enter it.

    Missing directories (parents too) are created 0700 (the XDG base directory spec
    asks the same of ``$XDG_STATE_HOME``). An existing directory that group or others
    can use is changed to 0700 if this user owns it and it is not a shared sticky
    directory such as ``/tmp``. Returns a description of each change made to an
    existing directory (``"/x/corral 0755 -> 0700"``), for a warning. Raises
    :class:`OSError` when the directory cannot be created.
    """
    missing = []
    for candidate in (path, *path.parents):
        if candidate.exists():
            break
        missing.append(candidate)
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=PRIVATE_DIR_MODE)
        except FileExistsError:
            continue  # made by another process meanwhile: checked below like any other
        # mkdir's mode goes through the umask, which can only remove bits; set it exactly.
        os.chmod(directory, PRIVATE_DIR_MODE)
    info = path.stat()
    if not stat.S_ISDIR(info.st_mode):
        raise NotADirectoryError(f"{path} is not a directory")
    bits = stat.S_IMODE(info.st_mode)
    shared = bits & stat.S_ISVTX or info.st_uid != os.getuid()
    if bits & 0o077 and not shared and path not in missing:
        os.chmod(path, PRIVATE_DIR_MODE)
        return [f"{path} {bits:04o} -> {PRIVATE_DIR_MODE:04o}"]
    return []


def make_private(files: Iterable[Path]) -> list[str]:
    """Remove group and other access from each of ``files`` this user owns; returns the changes.

    Each change reads ``"corral.db 0644 -> 0600"``. A file that vanished meanwhile (a
    ``-wal`` removed by the last connection closing) is skipped.
    """
    changes = []
    for path in files:
        try:
            info = os.stat(path)
            bits = stat.S_IMODE(info.st_mode)
            # Another user's file (a store shared read-only) is theirs to fix, not ours.
            if bits & 0o077 and info.st_uid == os.getuid():
                os.chmod(path, bits & 0o700)
                changes.append(f"{path.name} {bits:04o} -> {bits & 0o700:04o}")
        except FileNotFoundError:
            continue
    return changes


def private_home(home: Path) -> list[str]:
    """:func:`private_dir` for ``home`` (``CORRAL_HOME``) and its crash directory and files.

    The crash directory is left alone when it does not exist; returns the changes made.
    """
    changes = private_dir(home)
    crash = home / CRASH_DIR
    if crash.is_dir():
        changes += private_dir(crash)
        changes += make_private(sorted(crash.glob("*.txt")))
    return changes


def create_private_file(path: Path) -> int:
    """Create ``path`` (which must not exist) 0600 and return an open, writable descriptor.

    The mode is given to ``open`` itself, so the file is never readable by others, not
    even for an instant; ``O_NOFOLLOW`` refuses a symlink planted at ``path``.
    Raises :class:`FileExistsError` when it exists.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, PRIVATE_FILE_MODE)
    os.fchmod(fd, PRIVATE_FILE_MODE)  # a umask could have removed bits, never added any
    return fd


def warn_made_private(what: str, changes: Iterable[str]) -> None:
    """One line on stderr saying which modes were changed to keep ``what`` private."""
    listed = ", ".join(changes)
    if listed:
        print(
            f"warning: {what} was readable by other users; made it private: {listed}",
            file=sys.stderr,
        )
