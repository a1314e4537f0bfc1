"""``corral plan``: show what a run would do, touching nothing."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import click

from corral.commands.options import (
    extra_vars_option,
    inventory_options,
    params_option,
    parse_extra_vars,
    policy_option,
)
from corral.commands.vault_options import vault_options


@click.command("plan")
@click.argument("playbook", type=click.Path(dir_okay=False, path_type=Path))
@inventory_options
@extra_vars_option
@params_option
@click.option("--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
@policy_option
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
    policy_file: Path | None,
) -> int:
    """Show what PLAYBOOK would run: plays in DAG order, hosts, serial batches, tasks.

    Estimates per play come from earlier runs in the run store, when there are any.
    The policy's rules (policy.yml, plugins) are shown with what each would decide.
    """
    from corral.commands.options import json_errors, load_ansible_settings
    from corral.engine.preview import plan_text
    from corral.playbook.params import parse_param_args

    with json_errors(output):
        plan, lines = make_plan(
            playbook,
            obj.registry,
            obj.environ,
            settings=load_ansible_settings(obj.environ),
            cwd=Path.cwd(),
            inventories=inventories,
            limit=limit,
            extra_vars=parse_extra_vars(extra_vars),
            params=parse_param_args(params),
            policy_file=policy_file,
        )
    if output == "json":
        click.echo(json.dumps(plan, indent=2))
        return 0
    click.echo(plan_text(plan))
    for line in lines:
        click.echo(line)
    return 0


def make_plan(
    playbook: Path,
    registry: Any,
    environ: Mapping[str, str],
    *,
    settings: Any,
    cwd: Path,
    inventories: Sequence[str] = (),
    limit: str | None = None,
    extra_vars: Mapping[str, Any] | None = None,
    params: Mapping[str, Any] | None = None,
    recorded_as: str | None = None,
    policy_file: Path | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """The plan of ``playbook`` (as ``--output json`` prints it) and its trigger lines.

    Also what ``corral serve``'s UI shows; raises :class:`~corral.errors.CorralError`
    for what ``corral check`` would refuse (params included). Estimates come from the
    earlier runs of ``recorded_as`` (the name runs were stored under), else ``playbook``.
    """
    from corral.commands.connect import ConnectArgs, forks, host_defaults, inventory_sources
    from corral.engine.options import RunOptions
    from corral.engine.prepare import prepare_run
    from corral.engine.preview import build_plan

    options = RunOptions(
        limit=limit,
        extra_vars=dict(extra_vars or {}),
        forks=forks(None, settings),
        host_defaults=host_defaults(settings, ConnectArgs(), cwd=cwd, ask=False),
    )
    prepared = prepare_run(
        playbook,
        inventory_sources(inventories, settings, environ),
        registry,
        options,
        environ,
        params=params,
        settings=settings,
    )
    plan = build_plan(prepared, options, _estimates(environ, recorded_as or str(playbook)))
    lines: list[str] = []
    if any(play.triggers for play in prepared.playbook.plays):
        from corral.commands.triggers import trigger_lines, trigger_rows

        plan["triggers"] = trigger_rows(prepared.playbook, registry, str(playbook))
        lines = trigger_lines(prepared.playbook, registry, str(playbook))
    from corral.policy.show import judge_plan, policy_lines

    # The policy's rules (policy.yml, plugins) with what each would decide for this run.
    decision = judge_plan(prepared, options, registry, environ, policy_file, cwd)
    if not decision.empty:
        plan["policy"] = decision.as_record()
        lines.extend(policy_lines(decision))
    return plan, lines


def _estimates(environ: Mapping[str, str], playbook: str) -> dict[str, float]:
    """Mean play durations of earlier runs of this playbook, from the run store."""
    import importlib

    try:
        estimates = importlib.import_module("corral.store.estimates")
    except ImportError:
        return {}
    found: dict[str, float] = estimates.play_estimates(environ, playbook)
    return found
