"""``corral resume RUN``: continue an interrupted or failed run from its snapshot."""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from corral.commands.options import extra_vars_option, parse_extra_vars
from corral.errors import EXIT_INTERRUPTED, UsageError


@click.command("resume")
@click.argument("run_ref", metavar="RUN")
@click.option(
    "--failed-only", is_flag=True, help="Rerun only the hosts that failed or were unreachable."
)
@extra_vars_option
@click.option(
    "--output",
    "output",
    type=click.Choice(["console", "json"]),
    default="console",
    show_default=True,
    help="json: one event per line (docs/events.md).",
)
@click.option(
    "-v", "--verbose", count=True, help="More detail: -v results, -vv task paths, -vvv everything."
)
@click.option(
    "--grace",
    type=float,
    default=30.0,
    show_default=True,
    metavar="SECONDS",
    help="After Ctrl-C, how long running tasks get to finish.",
)
@click.pass_obj
def resume_command(
    obj: Any,
    run_ref: str,
    failed_only: bool,
    extra_vars: tuple[str, ...],
    output: str,
    verbose: int,
    grace: float,
) -> int:
    """Continue RUN (an id, a unique prefix, or 'last') where it stopped.

    The playbook and inventory are taken from the run's snapshot, not from disk.
    Units that finished ok or changed are not run again; the variables they
    registered or set are restored. The run keeps its id and its history.
    Secret extra vars are not stored: give them again with -e NAME=VALUE.

    \b
    Exit codes: as for 'corral run'; 5 when RUN cannot be resumed (still
    running, succeeded, unknown).
    """
    import tempfile

    from corral.engine.prepare import prepare_run
    from corral.store.db import open_store, store_enabled
    from corral.store.resume import load_resume, materialize, resume_options

    if not store_enabled(obj.environ):
        raise UsageError(
            "corral resume needs the run store, and CORRAL_STORE is off", hint="unset CORRAL_STORE"
        )
    store = open_store(obj.environ)
    try:
        record, state = load_resume(store, run_ref, failed_only=failed_only)
    finally:
        store.close()
    options = resume_options(
        record, state, parse_extra_vars(extra_vars), verbosity=verbose, grace_period=grace
    )
    with tempfile.TemporaryDirectory(prefix=f"corral-resume-{record.run_id}-") as tmp:
        from pathlib import Path

        files = materialize(record, Path(tmp))
        prepared = prepare_run(
            files.playbook, [str(files.inventory)], obj.registry, options, obj.environ
        )
        argv = ["corral", "resume", record.run_id, *(["--failed-only"] if failed_only else [])]
        return _execute(obj, prepared, options, output=output, verbose=verbose, argv=argv)


def _execute(
    obj: Any, prepared: Any, options: Any, *, output: str, verbose: int, argv: list[str]
) -> int:
    """Run with the store writer and signal handling, as ``corral run`` does."""
    from corral.engine.run import run_playbook
    from corral.engine.signals import StopControl, handle_signals
    from corral.store.session import start_recording

    writers: list[Any] = []
    if output == "json":
        from corral.output.jsonlines import JsonLinesWriter

        writers.append(JsonLinesWriter())
    else:
        from corral.output.console import ConsoleWriter

        writers.append(ConsoleWriter(verbosity=verbose, show_diff=options.diff))
    options, store_writer = start_recording(obj.environ, prepared, options, argv=argv)
    if store_writer is not None:
        writers.append(store_writer)
    control = StopControl()
    try:
        with handle_signals(control, options.grace_period):
            outcome = run_playbook(
                prepared.playbook, prepared.inventory, obj.registry, options, writers, control
            )
    finally:
        if store_writer is not None:
            store_writer.close()
    if control.cancelled.is_set() and outcome.exit_code == EXIT_INTERRUPTED:
        # Aborted: units may still be running in worker threads; do not wait for them.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(EXIT_INTERRUPTED)
    return outcome.exit_code
