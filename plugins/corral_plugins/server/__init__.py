"""``corral serve`` and ``corral token``: the project as a daemon, and its API's tokens.

Added through ``corral_register_commands`` as a third party would add its own
commands; the command modules are imported only when the CLI is built, and the
server's code (FastAPI, uvicorn) only when ``corral serve`` runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from corral import hookimpl

if TYPE_CHECKING:
    import click


@hookimpl
def corral_register_commands(cli: click.Group) -> None:
    """Add ``corral serve`` and ``corral token``."""
    from corral_plugins.server.commands import token_group
    from corral_plugins.server.serve import serve_command

    cli.add_command(serve_command)
    cli.add_command(token_group)
