"""``corral serve`` and the API's tokens: the project as a daemon.

Registered as a built-in plugin through ``corral_register_commands``; the server's
code (FastAPI, uvicorn) is imported only when ``corral serve`` runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from corral import hookimpl

if TYPE_CHECKING:
    import click


@hookimpl
def corral_register_commands(cli: click.Group) -> None:
    """Add ``corral serve``."""
    from corral_plugins.server.serve import serve_command

    cli.add_command(serve_command)
