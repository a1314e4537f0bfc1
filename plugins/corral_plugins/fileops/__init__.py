"""Steps that work on many files on the host: ``find``, ``slurp``, ``tempfile``, ``archive``
and ``unarchive``.

They run through the connection with POSIX shell tools only (``find``, ``stat``, ``tar``,
``base64``), so hosts without Python work; :mod:`.hostfs` describes many paths per command.
Registering them imports only the schema modules; each step's module (and ``tarfile``,
``zipfile``...) is imported when the step first runs (:func:`corral.lazy_step`).
"""

from __future__ import annotations

from corral import RegisterStep, StepType, hookimpl, lazy_step
from corral_plugins.fileops.archive_schema import ARCHIVE_SCHEMA
from corral_plugins.fileops.find_schema import FIND_SCHEMA
from corral_plugins.fileops.schemas import SLURP_SCHEMA, TEMPFILE_SCHEMA
from corral_plugins.fileops.unarchive_schema import UNARCHIVE_SCHEMA


@hookimpl
def corral_register_steps(register: RegisterStep) -> None:
    """Register ``find``, ``slurp``, ``tempfile``, ``archive`` and ``unarchive``."""
    register(
        StepType(
            name="archive",
            cooperative=True,
            run=lazy_step("corral_plugins.fileops.archive:archive"),
            schema=ARCHIVE_SCHEMA,
            aliases=("community.general.archive",),
            check_mode=True,
            description="Pack files on the host into a tar or zip archive, or compress one file.",
        )
    )
    register(
        StepType(
            name="find",
            cooperative=True,
            run=lazy_step("corral_plugins.fileops.find:find"),
            schema=FIND_SCHEMA,
            check_mode=True,
            description="Find files on the host by name, age, size, type, mode or content.",
        )
    )
    register(
        StepType(
            name="slurp",
            cooperative=True,
            run=lazy_step("corral_plugins.fileops.slurp:slurp"),
            schema=SLURP_SCHEMA,
            check_mode=True,
            description="Read a file on the host; its content comes back base64-encoded.",
        )
    )
    register(
        StepType(
            name="tempfile",
            cooperative=True,
            run=lazy_step("corral_plugins.fileops.tempfile:tempfile"),
            schema=TEMPFILE_SCHEMA,
            check_mode=False,
            description="Create a uniquely named temporary file or directory on the host.",
        )
    )
    register(
        StepType(
            name="unarchive",
            run=lazy_step("corral_plugins.fileops.unarchive:unarchive"),
            schema=UNARCHIVE_SCHEMA,
            check_mode=True,
            description="Extract a tar or zip archive (from the controller or the host) into a "
            "directory on the host.",
        )
    )
