"""``corral plan``: show what a run would do, touching nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from corral.commands.options import extra_vars_option, inventory_options, parse_extra_vars
from corral.commands.vault_options import vault_options


@click.command("plan")
@click.argument("playbook", type=click.Path(dir_okay=False, path_type=Path))
@inventory_options
@extra_vars_option
@click.option(
    "-p",
    "--param",
    "params",
    multiple=True,
    metavar="NAME=VALUE|@FILE",
    help="Param values, as for run.",
)
@click.option("--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
@vault_options
@click.pass_obj
def plan_command(
    obj: Any,
    playbook: Path,
    inventories: tuple[str, ...],
    limit: str | None,
    extra_vars: tuple[str, ...],
    params: tuple[str, ...],
    output: str,
) -> int:
    """Show what PLAYBOOK would run: plays in DAG order, hosts, serial batches, tasks.

    Estimates per play come from earlier runs in the run store, when there are any.
    """
    from corral.engine.options import RunOptions
    from corral.engine.prepare import prepare_run
    from corral.engine.preview import build_plan, plan_text
    from corral.playbook.params import parse_param_args

    options = RunOptions(limit=limit, extra_vars=parse_extra_vars(extra_vars))
    prepared = prepare_run(
        playbook, inventories, obj.registry, options, obj.environ, params=parse_param_args(params)
    )
    plan = build_plan(prepared, options, _estimates(obj, playbook))
    click.echo(json.dumps(plan, indent=2) if output == "json" else plan_text(plan))
    return 0


def _estimates(obj: Any, playbook: Path) -> dict[str, float]:
    """Mean play durations of earlier runs of this playbook, from the run store."""
    import importlib

    try:
        estimates = importlib.import_module("corral.store.estimates")
    except ImportError:
        return {}
    found: dict[str, float] = estimates.play_estimates(obj.environ, str(playbook))
    return found
