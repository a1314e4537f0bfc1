"""Steps about files on the host: ``copy``, ``template`` (content), ``assemble``, ``file``,
``stat`` (paths), and the in-place edits ``lineinfile`` (lines), ``blockinfile`` (block)
and ``replace``.

The mode, owner and group helpers in :mod:`~corral_plugins.files.attributes` are public:
other plugins that write files (``http`` downloads, ``fetch``) use them too.

Registering the steps imports only :mod:`.schemas`; each step's module is imported when
the step first runs (:func:`corral.lazy_step`).
"""

from __future__ import annotations

from corral import RegisterStep, StepType, hookimpl, lazy_step
from corral_plugins.files.schemas import (
    ASSEMBLE_SCHEMA,
    BLOCKINFILE_SCHEMA,
    COPY_SCHEMA,
    FILE_SCHEMA,
    LINEINFILE_SCHEMA,
    REPLACE_SCHEMA,
    STAT_SCHEMA,
    TEMPLATE_SCHEMA,
)


@hookimpl
def corral_register_steps(register: RegisterStep) -> None:
    """Register ``copy``, ``template``, ``assemble``, ``file``, ``stat`` and the edits."""
    register(
        StepType(
            name="copy",
            cooperative=True,
            run=lazy_step("corral_plugins.files.content:copy"),
            schema=COPY_SCHEMA,
            aliases=("ansible.builtin.copy", "ansible.legacy.copy"),
            check_mode=True,
            description="Copy a local file, directory or inline content to the host.",
        )
    )
    register(
        StepType(
            name="template",
            cooperative=True,
            run=lazy_step("corral_plugins.files.content:template"),
            schema=TEMPLATE_SCHEMA,
            aliases=("ansible.builtin.template", "ansible.legacy.template"),
            check_mode=True,
            description="Render a Jinja2 template with the host's variables and write it there.",
        )
    )
    register(
        StepType(
            name="assemble",
            cooperative=True,
            run=lazy_step("corral_plugins.files.assemble:assemble"),
            schema=ASSEMBLE_SCHEMA,
            aliases=("ansible.builtin.assemble", "ansible.legacy.assemble"),
            check_mode=True,
            description="Write a file made of the fragments in a directory, in name order.",
        )
    )
    register(
        StepType(
            name="file",
            cooperative=True,
            run=lazy_step("corral_plugins.files.paths:file"),
            schema=FILE_SCHEMA,
            aliases=("ansible.builtin.file", "ansible.legacy.file"),
            check_mode=True,
            description="Ensure a path is a file, directory or link, or absent, "
            "with the given mode and owner.",
        )
    )
    register(
        StepType(
            name="stat",
            cooperative=True,
            run=lazy_step("corral_plugins.files.paths:stat"),
            schema=STAT_SCHEMA,
            aliases=("ansible.builtin.stat", "ansible.legacy.stat"),
            check_mode=True,
            description="Describe a path on the host (exists, mode, owner, checksum...).",
        )
    )
    register(
        StepType(
            name="lineinfile",
            cooperative=True,
            run=lazy_step("corral_plugins.files.lines:lineinfile"),
            schema=LINEINFILE_SCHEMA,
            check_mode=True,
            description="Ensure a line is in a file (replacing the line a regexp matches), "
            "or that matching lines are not.",
        )
    )
    register(
        StepType(
            name="blockinfile",
            cooperative=True,
            run=lazy_step("corral_plugins.files.block:blockinfile"),
            schema=BLOCKINFILE_SCHEMA,
            check_mode=True,
            description="Insert, update or remove a block of lines between marker lines.",
        )
    )
    register(
        StepType(
            name="replace",
            cooperative=True,
            run=lazy_step("corral_plugins.files.replace:replace"),
            schema=REPLACE_SCHEMA,
            check_mode=True,
            description="Replace every match of a regular expression in a file.",
        )
    )
