"""``corral mcp``: the project's playbooks and runs as Model Context Protocol tools.

Added through ``corral_register_commands``; the MCP SDK is imported only when
``corral mcp`` runs (or ``corral serve`` mounts ``/mcp``), not when the CLI starts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from corral import hookimpl

if TYPE_CHECKING:
    import click


@hookimpl
def corral_register_commands(cli: click.Group) -> None:
    """Add ``corral mcp``."""
    from corral_plugins.mcp.command import mcp_command

    cli.add_command(mcp_command)
