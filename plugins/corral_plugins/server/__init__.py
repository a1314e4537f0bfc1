"""The server's side of corral: ``corral token`` (the HTTP API's bearer tokens).

Added through ``corral_register_commands`` as a third party would add its own
commands; the command modules are imported only when the CLI is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from corral import hookimpl

if TYPE_CHECKING:
    import click


@hookimpl
def corral_register_commands(cli: click.Group) -> None:
    """Add ``corral token``."""
    from corral_plugins.server.commands import token_group

    cli.add_command(token_group)
