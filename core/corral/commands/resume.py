"""``corral resume RUN``: continue an interrupted or failed run from its snapshot."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from corral.commands.options import (
    executor_option,
    extra_vars_option,
    parse_extra_vars,
    run_output_options,
    wait_lock_option,
)
from corral.commands.run import answered, execute_run
from corral.commands.vault_options import vault_options
from corral.errors import UsageError

if TYPE_CHECKING:
    from corral.cli import CliState


@click.command("resume")
@click.argument("run_ref", metavar="RUN")
@click.option(
    "--failed-only", is_flag=True, help="Rerun only the hosts that failed or were unreachable."
)
@extra_vars_option
@click.option(
    "-p",
    "--param",
    "params",
    multiple=True,
    metavar="NAME=VALUE|@FILE",
    help="Give a secret param again (secrets are not stored); repeatable.",
)
@run_output_options
@executor_option
@wait_lock_option
@vault_options
@click.pass_obj
def resume_command(
    obj: CliState,
    run_ref: str,
    failed_only: bool,
    extra_vars: tuple[str, ...],
    params: tuple[str, ...],
    output: str,
    verbose: int,
    grace: float,
    executor: str | None,
    wait_lock: float,
) -> int:
    """Continue RUN (an id, a unique prefix, or 'last') where it stopped.

    The playbook and inventory are taken from the run's snapshot, not from disk.
    Units that finished ok or changed are not run again; the variables they
    registered or set are restored. The run keeps its id and its history.
    It takes its hosts and locks again first (--wait-lock, as for 'corral run').
    Secret params and extra vars are not stored: give them again with
    -p NAME=VALUE or -e NAME=VALUE. The executor is not stored either: a run
    that ran on workers resumes on them with --executor celery (or
    CORRAL_EXECUTOR).

    \b
    Exit codes: as for 'corral run'; 5 when RUN cannot be resumed (still
    running, resumed by another process, succeeded, unknown).
    """
    import dataclasses
    import os
    import tempfile
    from pathlib import Path

    from corral.commands.options import json_errors
    from corral.engine.options import hub_wanted
    from corral.engine.prepare import prepare_run
    from corral.executors import chosen_executor
    from corral.playbook.params import parse_param_args
    from corral.store.db import open_store, store_enabled
    from corral.store.resume import (
        claim_resume,
        materialize,
        release_resume,
        resume_options,
        resume_params,
    )

    if not store_enabled(obj.environ):
        raise UsageError(
            "corral resume needs the run store, and CORRAL_STORE is off", hint="unset CORRAL_STORE"
        )
    with json_errors(output):
        store = open_store(obj.environ)
        try:
            # Claimed before anything is read: a second resume of the run stops here.
            claim, record, state = claim_resume(
                store, run_ref, failed_only=failed_only, pid=os.getpid()
            )
        finally:
            store.close()
    try:
        with json_errors(output):
            given_params = resume_params(record, parse_param_args(params))
            options = resume_options(
                record, state, parse_extra_vars(extra_vars), verbosity=verbose, grace_period=grace
            )
            chosen = chosen_executor(obj.registry.executors, executor, obj.environ)
            options = dataclasses.replace(options, hub=hub_wanted(obj.environ), executor=chosen)
        with tempfile.TemporaryDirectory(prefix=f"corral-resume-{record.run_id}-") as tmp:
            with json_errors(output):
                files = materialize(record, Path(tmp))
                prepared = prepare_run(
                    files.playbook,
                    [str(files.inventory)],
                    obj.registry,
                    options,
                    obj.environ,
                    params=given_params,
                )
            prepared = answered(prepared, options)  # asked again: answers are not stored
            options = prepared.options_for(options)
            argv = ["corral", "resume", record.run_id, *(["--failed-only"] if failed_only else [])]
            return execute_run(
                obj,
                prepared,
                options,
                output=output,
                verbose=verbose,
                argv=argv,
                wait_lock=wait_lock,
            )
    except BaseException:
        # A resume that stopped before its run started gives the run back at once; one
        # that started has ended it through its store writer, and this does nothing.
        release_resume(obj.environ, claim)
        raise
