"""``corral mcp``: an MCP server over stdio for one project, for an MCP client to start."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from corral.commands.options import project_option

if TYPE_CHECKING:
    from mcp.server.mcpserver import Context

    from corral_plugins.mcp.ops import Caller

__all__ = ["mcp_command"]


@click.command("mcp")
@project_option
@click.option(
    "--allow-run",
    is_flag=True,
    help="Let the client start, cancel and resume runs (default: read-only).",
)
@click.option(
    "--playbooks",
    metavar="GLOB",
    default="*",
    show_default=True,
    help="With --allow-run: only playbooks matching GLOB (relative to the project) may run"
    " (and only their runs be cancelled or resumed).",
)
@click.option("--allow-approve", is_flag=True, help="Let the client answer approvals.")
@click.pass_obj
def mcp_command(
    obj: Any, project: Path, allow_run: bool, playbooks: str, allow_approve: bool
) -> int:
    """Serve the project to an MCP client over stdio (the client starts this command).

    Tools: list_playbooks, describe_playbook, check, plan, inventory, history,
    stats, run_status, run_events, run_logs, list_approvals; with --allow-run also
    run, cancel and resume; with --allow-approve answer_approval. Runs go on in
    their own processes when the client goes away. Every call is recorded in the
    run store's audit table.
    """
    import os

    from corral_plugins.mcp.backend import Detached
    from corral_plugins.mcp.tools import Calls, build_server

    root = project.resolve()
    os.chdir(root)  # as a run typed in the project: its ansible.cfg, relative paths
    backend = Detached(root, obj.registry, obj.environ)

    def caller_of(ctx: Context) -> Caller:
        return stdio_caller(ctx, allow_run, playbooks, allow_approve)

    build_server(Calls(backend, caller_of)).run("stdio")
    return 0


def stdio_caller(ctx: Context, allow_run: bool, playbooks: str, allow_approve: bool) -> Caller:
    """The caller over stdio: what the flags allow, named by the client's name."""
    from corral_plugins.mcp.ops import Caller
    from corral_plugins.mcp.tools import client_name

    name = client_name(ctx) or "unnamed client"
    return Caller(
        client=name,
        label=f"mcp:{name}",
        allow_run=allow_run,
        playbooks=playbooks,
        allow_approve=allow_approve,
        why_not_run=(
            "corral mcp was started read-only: runs are not started, cancelled or resumed",
            "add --allow-run (and --playbooks GLOB) to the corral mcp command in the "
            "MCP client's configuration",
        ),
        why_not_approve=(
            "corral mcp was started without --allow-approve: approvals are listed, not answered",
            "answer with corral approve, or add --allow-approve to the corral mcp command",
        ),
    )
