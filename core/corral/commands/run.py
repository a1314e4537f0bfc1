"""``corral run``: load, check and run a playbook."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from corral.commands.connect import connect_options
from corral.commands.options import (
    executor_option,
    extra_vars_option,
    inventory_options,
    params_option,
    parse_extra_vars,
    policy_option,
    run_output_options,
    split_tags,
    wait_lock_option,
)
from corral.commands.vault_options import vault_options
from corral.errors import EXIT_INTERRUPTED, CorralError

if TYPE_CHECKING:
    from corral.cli import CliState
    from corral.engine.options import RunOptions
    from corral.engine.prepare import PreparedRun
    from corral.output import Writer
    from corral.store.leases import Holder


@click.command("run")
@click.argument("playbook", type=click.Path(dir_okay=False, path_type=Path))
@inventory_options
@extra_vars_option
@click.option(
    "-t",
    "--tags",
    multiple=True,
    metavar="TAGS",
    help="Only tasks with these tags (comma-separated, repeatable).",
)
@click.option("--skip-tags", multiple=True, metavar="TAGS", help="Skip tasks with these tags.")
@click.option(
    "-C", "--check", is_flag=True, help="Dry run: report what would change, change nothing."
)
@click.option("-D", "--diff", is_flag=True, help="Show what steps change in files.")
@click.option(
    "-f",
    "--forks",
    type=click.IntRange(1, 10_000),
    help="Hosts worked on at once. Default: forks of ansible.cfg, else 100.",
)
@click.option(
    "--start-at-task", metavar="NAME", help="Start at the first task whose name matches (glob)."
)
@run_output_options
@params_option
@click.option("--help-params", is_flag=True, help="Show the playbook's params and exit.")
@connect_options
@click.option("--list-hosts", is_flag=True, help="List each play's hosts; run nothing.")
@click.option("--list-tasks", is_flag=True, help="List the tasks each play would run; run nothing.")
@click.option("--list-tags", is_flag=True, help="List the tags of each play's tasks; run nothing.")
@click.option("--syntax-check", is_flag=True, help="Check the playbook only, as 'corral check'.")
@click.option(
    "--max-parallel-plays",
    type=click.IntRange(1, 64),
    default=4,
    show_default=True,
    help="Plays of a DAG (needs:) running at once.",
)
@executor_option
@click.option(
    "--no-store",
    is_flag=True,
    help="Do not record this run in the run store (it then takes no host leases).",
)
@wait_lock_option
@policy_option
# corral serve's workers: run the run it queued under this id (its row in the store).
@click.option("--queued-run", metavar="RUN_ID", hidden=True)
@vault_options
@click.pass_obj
def run_command(
    obj: CliState,
    /,
    playbook: Path,
    inventories: tuple[str, ...],
    limit: str | None,
    extra_vars: tuple[str, ...],
    tags: tuple[str, ...],
    skip_tags: tuple[str, ...],
    check: bool,
    diff: bool,
    forks: int | None,
    start_at_task: str | None,
    output: str,
    verbose: int,
    params: tuple[str, ...],
    help_params: bool,
    max_parallel_plays: int,
    executor: str | None,
    grace: float,
    no_store: bool,
    wait_lock: float,
    policy_file: Path | None,
    queued_run: str | None,
    list_hosts: bool,
    list_tasks: bool,
    list_tags: bool,
    syntax_check: bool,
    **connect: Any,
) -> int:
    """Run PLAYBOOK against the inventory's hosts.

    \b
    Exit codes: 0 ok, 2 a host failed, 3 a host was unreachable (none
    failed), 4 invalid playbook/inventory/params or a host or lock held by
    another run, 5 bad usage, 99 interrupted.
    The first Ctrl-C (or SIGTERM) lets running tasks finish, runs `always`
    sections and due handlers, and exits 99; a second one aborts at once.
    `corral cancel` from another shell does the same; `corral pause` holds new tasks.
    """
    from corral.commands import connect as cli_connect
    from corral.commands.options import json_errors, load_ansible_settings
    from corral.engine.options import RunOptions, hub_wanted
    from corral.engine.prepare import prepare_run
    from corral.executors import chosen_executor
    from corral.playbook.params import parse_param_args

    if help_params:
        return show_params(obj, playbook)
    listing = syntax_check or list_hosts or list_tasks or list_tags
    with json_errors(output):
        settings = load_ansible_settings(obj.environ)
        cli_connect.report_ignored(settings, verbose)
        # Passwords (-k, -K) are asked for first, as ansible-playbook does; not for a listing.
        defaults = cli_connect.host_defaults(
            settings, cli_connect.connect_args(connect), cwd=Path(os.getcwd()), ask=not listing
        )
        options = RunOptions(
            check=check,
            diff=diff,
            forks=cli_connect.forks(forks, settings),
            limit=limit,
            tags=split_tags(tags),
            skip_tags=split_tags(skip_tags),
            start_at_task=start_at_task,
            extra_vars=parse_extra_vars(extra_vars),
            verbosity=verbose,
            grace_period=grace,
            max_parallel_plays=max_parallel_plays,
            host_defaults=defaults,
            hub=hub_wanted(obj.environ),
            executor=chosen_executor(obj.registry.executors, executor, obj.environ),
        )
        given = parse_param_args(params)
        sources = cli_connect.inventory_sources(inventories, settings, obj.environ)
        prepared = prepare_run(
            playbook, sources, obj.registry, options, obj.environ, params=given, settings=settings
        )
        if listing:
            return _list_only(
                prepared, options, playbook, syntax_check, list_hosts, list_tasks, list_tags
            )
        # The project's policy, before any host is touched (docs/policy.md).
        prepared, options = _apply_policy(
            obj, prepared, options, policy_file, output, not no_store, queued_run
        )
        prepared = answered(prepared, options)  # vars_prompt, once the run may go
    options = prepared.options_for(options)
    if queued_run:
        from dataclasses import replace

        options = replace(options, run_id=queued_run)
    return execute_run(
        obj,
        prepared,
        options,
        output=output,
        verbose=verbose,
        store=not no_store,
        wait_lock=wait_lock,
        queued=bool(queued_run),
    )


def answered(prepared: PreparedRun, options: RunOptions) -> PreparedRun:
    """``prepared`` with its plays' ``vars_prompt`` answered (corral.playbook.prompts)."""
    from dataclasses import replace

    from corral.playbook.prompts import answer_prompts

    def warn(message: str) -> None:
        click.echo(f"warning: {message}", err=True)

    playbook = answer_prompts(prepared.playbook, options.extra_vars, warn)
    return prepared if playbook is prepared.playbook else replace(prepared, playbook=playbook)


def _list_only(
    prepared: PreparedRun,
    options: RunOptions,
    playbook: Path,
    syntax_check: bool,
    hosts: bool,
    tasks: bool,
    tags: bool,
) -> int:
    """``--syntax-check`` and the ``--list-*`` options: print, run nothing."""
    from corral.commands.listing import listing_text

    if hosts or tasks or tags:
        text = listing_text(
            prepared, options, hosts=hosts, tasks=tasks, tags=tags, shown_path=str(playbook)
        )
        click.echo(text)
    elif syntax_check:
        click.echo(f"\nplaybook: {playbook}")
    return 0


def _apply_policy(
    obj: CliState,
    prepared: PreparedRun,
    options: RunOptions,
    policy_file: Path | None,
    output: str,
    store: bool,
    queued_run: str | None,
) -> tuple[PreparedRun, RunOptions]:
    """Refuse the run, or add the approvals the policy asks for (corral.policy.enforce)."""
    from corral.output import find_output
    from corral.policy.enforce import enforce_policy
    from corral.store.db import store_enabled

    # Someone can answer an approval at this terminal, or through the store (corral approve).
    interactive = find_output(obj.registry.outputs, output).interactive and sys.stdin.isatty()
    return enforce_policy(
        prepared,
        options,
        obj.registry,
        obj.environ,
        policy_file=policy_file,
        can_approve=interactive or (store and store_enabled(obj.environ)),
        queued_run=queued_run,
    )


def show_params(obj: CliState, playbook: Path) -> int:
    """``--help-params``: the playbook's params, without running anything."""
    from corral.playbook.loader import load_playbook
    from corral.playbook.params import collect_params, params_help

    if not playbook.is_file():
        from corral.errors import PlaybookError

        raise PlaybookError(f"playbook not found: {playbook}")
    registry = obj.registry
    loaded = load_playbook(
        playbook, registry.steps, registry.play_keywords, obj.environ, registry.triggers
    )
    click.echo(params_help(collect_params(loaded.plays)))
    return 0


def execute_run(
    obj: CliState,
    prepared: PreparedRun,
    options: RunOptions,
    *,
    output: str,
    verbose: int,
    argv: list[str] | None = None,
    store: bool = True,
    wait_lock: float = 0.0,
    queued: bool = False,
) -> int:
    """Run a prepared playbook: output, run store, approvals, signals. Shared by run and resume."""
    from dataclasses import replace

    from corral.engine.approval import make_approver
    from corral.engine.run import run_playbook
    from corral.engine.signals import StopControl, handle_signals
    from corral.output import OutputOptions, find_output
    from corral.store.session import start_recording, watch_control

    output_type = find_output(obj.registry.outputs, output)
    writers: list[Writer] = [
        output_type.factory(OutputOptions(verbosity=verbose, diff=options.diff, buffered=True))
    ]
    from corral.commands.options import json_errors

    with json_errors(output):
        options, store_writer = start_recording(
            obj.environ,
            prepared,
            options,
            argv=argv or ["corral", *sys.argv[1:]],
            enabled=store,
            wait=wait_lock,
            on_wait=_tell_waiting,
            queued=queued,
        )
    poll, settle = None, None
    if store_writer is not None:
        from corral.store.approvals import store_poller

        writers.append(store_writer)
        poll, settle = store_poller(obj.environ)
    interactive = output_type.interactive and sys.stdin.isatty()
    options = replace(
        options, approver=make_approver(poll_store=poll, interactive=interactive, on_decided=settle)
    )
    control = StopControl()
    # Cancel and pause asked from other processes (corral cancel/pause, the server).
    watcher = watch_control(obj.environ, options, control) if store_writer is not None else None
    stopped_with = None  # the exit code of an error that ends the run before its recap
    try:
        with handle_signals(control, options.grace_period):
            outcome = run_playbook(
                prepared.playbook,
                prepared.inventory,
                obj.registry,
                options,
                writers,
                control,
                templar=prepared.templar,
            )
    except CorralError as exc:
        stopped_with = exc.exit_code
        raise
    finally:
        if watcher is not None:
            watcher.close()
        if store_writer is not None:
            store_writer.close(stopped_with)
    if control.cancelled.is_set() and outcome.exit_code == EXIT_INTERRUPTED:
        # Aborted: units may still be running in worker threads; do not wait for them.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(EXIT_INTERRUPTED)
    return outcome.exit_code


def _tell_waiting(holder: Holder) -> None:
    """Said once, when a run starts waiting for a host or lock (``--wait-lock``)."""
    from corral.store.leases import shown_name

    click.echo(f"waiting for {shown_name(holder.name)}, held by run {holder.run_id}", err=True)
