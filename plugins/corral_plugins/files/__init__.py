"""Steps about files on the host: ``copy``, ``template`` (content), ``file``, ``stat`` (paths),
and the in-place edits ``lineinfile`` (lines), ``blockinfile`` (block) and ``replace``.

The mode, owner and group helpers in :mod:`~corral_plugins.files.paths` are public:
other plugins that write files (``http`` downloads, ``fetch``) use them too.
"""

from __future__ import annotations

from corral import RegisterStep, hookimpl
from corral_plugins.files import block, content, lines, paths, replace


@hookimpl
def corral_register_steps(register: RegisterStep) -> None:
    """Register ``copy``, ``template``, ``file``, ``stat`` and the file-editing steps."""
    content.register_steps(register)
    paths.register_steps(register)
    lines.register_steps(register)
    block.register_steps(register)
    replace.register_steps(register)
