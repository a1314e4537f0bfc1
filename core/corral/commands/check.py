"""``corral check``: everything ``run`` checks before touching a host, and nothing more."""

from __future__ import annotations

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


@click.command("check")
@click.argument("playbook", type=click.Path(dir_okay=False, path_type=Path))
@inventory_options
@extra_vars_option
@params_option
@policy_option
@vault_options
@click.pass_obj
def check_command(
    obj: Any,
    playbook: Path,
    inventories: tuple[str, ...],
    limit: str | None,
    extra_vars: tuple[str, ...],
    params: tuple[str, ...],
    policy_file: Path | None,
) -> int:
    """Validate PLAYBOOK without touching any host.

    Loads the YAML, checks every keyword and step argument against its schema,
    resolves includes and var files, reads the inventory and looks for
    variables that are defined nowhere, and the params given with -p/-e;
    and the project's policy.yml (or --policy FILE), whose rules it checks.
    Exit 0 when valid, 4 when not, 5 for bad usage (a --limit matching no host).
    """
    from corral.commands.connect import ConnectArgs, host_defaults, inventory_sources
    from corral.commands.options import load_ansible_settings
    from corral.engine.options import RunOptions
    from corral.engine.prepare import prepare_run
    from corral.playbook.params import parse_param_args

    settings = load_ansible_settings(obj.environ)
    # ansible.cfg's remote_user, become... define ansible_user, ansible_become... as in a run.
    defaults = host_defaults(settings, ConnectArgs(), cwd=Path.cwd(), ask=False)
    options = RunOptions(
        limit=limit, extra_vars=parse_extra_vars(extra_vars), host_defaults=defaults
    )
    prepared = prepare_run(
        playbook,
        inventory_sources(inventories, settings, obj.environ),
        obj.registry,
        options,
        obj.environ,
        params=parse_param_args(params),
        settings=settings,
    )
    from corral.policy.enforce import read_policy

    policy = read_policy(policy_file, obj.environ, Path.cwd())
    for warning in prepared.warnings:
        click.echo(f"warning: {warning}", err=True)
    plays = prepared.playbook.plays
    tasks = sum(prepared.task_count(p) for p in plays)
    click.echo(f"ok: {playbook} is valid ({_count(len(plays), 'play')}, {_count(tasks, 'task')})")
    if policy is not None:
        click.echo(f"ok: policy {policy.path} is valid ({_count(len(policy.rules), 'rule')})")
    if any(play.triggers for play in plays):
        from corral.commands.triggers import trigger_lines

        for line in trigger_lines(prepared.playbook, obj.registry, str(playbook)):
            click.echo(line)
    return 0


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
