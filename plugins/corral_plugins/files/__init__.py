"""Steps about files on the host: ``copy``, ``template`` (content), ``file``, ``stat`` (paths).

The mode, owner and group helpers in :mod:`~corral_plugins.files.paths` are public:
other plugins that write files (``http`` downloads, ``fetch``) use them too.
"""

from __future__ import annotations

from corral import RegisterStep, hookimpl
from corral_plugins.files import content, paths


@hookimpl
def corral_register_steps(register: RegisterStep) -> None:
    """Register ``copy``, ``template``, ``file`` and ``stat``."""
    content.register_steps(register)
    paths.register_steps(register)
