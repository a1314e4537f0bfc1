"""Steps that work on many files on the host: ``find``, ``slurp``, ``tempfile``, ``archive``
and ``unarchive``.

They run through the connection with POSIX shell tools only (``find``, ``stat``, ``tar``,
``base64``), so hosts without Python work; :mod:`.hostfs` describes many paths per command.
"""

from __future__ import annotations

from corral import RegisterStep, hookimpl
from corral_plugins.fileops.archive import ARCHIVE_STEP
from corral_plugins.fileops.find import FIND_STEP
from corral_plugins.fileops.slurp import SLURP_STEP
from corral_plugins.fileops.tempfile import TEMPFILE_STEP
from corral_plugins.fileops.unarchive import UNARCHIVE_STEP


@hookimpl
def corral_register_steps(register: RegisterStep) -> None:
    """Register ``find``, ``slurp``, ``tempfile``, ``archive`` and ``unarchive``."""
    for step in (ARCHIVE_STEP, FIND_STEP, SLURP_STEP, TEMPFILE_STEP, UNARCHIVE_STEP):
        register(step)
