"""``corral logs``' printing, and ``--follow``: a running run's output as it goes."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import click

from corral_plugins.history.display import format_time

if TYPE_CHECKING:
    from corral.store.db import Store

__all__ = ["EXIT_FOLLOW_STOPPED", "follow_run", "print_events"]

EXIT_FOLLOW_STOPPED = 130  # Ctrl-C while following, as a shell reports SIGINT (128 + 2)


def print_events(
    obj: Any, events: Iterable[Mapping[str, Any]], *, as_json: bool, verbose: int
) -> bool:
    """Print ``events`` as ``corral run`` printed them (or as JSON lines); True if one was a recap.

    Each event is flushed as it is printed, so a follower in a pipe sees lines as they come.
    """
    recap = False
    if as_json:
        for event in events:
            recap = recap or event.get("event") == "recap"
            click.echo(json.dumps(event, separators=(",", ":"), default=str))
        return recap
    from corral.output import OutputOptions, find_output

    writer = find_output(obj.registry.outputs, "console").factory(OutputOptions(verbosity=verbose))
    for event in events:
        if event.get("event") == "run_start" and event.get("resumed"):
            click.echo(
                f"\n--- resumed at {format_time(event.get('time'))} (pid {event.get('pid')}) ---"
            )
        recap = recap or event.get("event") == "recap"
        writer(event)
        sys.stdout.flush()
    return recap


def follow_run(
    obj: Any,
    store: Store,
    run_id: str,
    *,
    host: str | None,
    task: str | None,
    as_json: bool,
    verbose: int,
) -> int:
    """Print the run's output so far, then its new output until it ends; the run's exit code.

    Ctrl-C stops following (exit 130) and leaves the run alone: the follower only reads.
    """
    from corral.store.follow import exit_code_of, follow_events
    from corral.store.queries import filter_events

    def waiting() -> None:
        click.echo(f"run {run_id} is queued; waiting for it to start (Ctrl-C stops)", err=True)

    try:
        stream = follow_events(store, run_id, on_queued=waiting)
        recap = print_events(
            obj, filter_events(stream, host=host, task=task), as_json=as_json, verbose=verbose
        )
    except KeyboardInterrupt:
        click.echo(f"stopped following run {run_id}; it goes on", err=True)
        return EXIT_FOLLOW_STOPPED
    run = store.run_row(run_id) or {"status": "interrupted"}
    if not recap:
        # Killed (kill -9, a crash, a reboot), or cancelled while queued.
        why = f"run {run_id} ended {run['status']} without a recap"
        if run["status"] == "interrupted":
            why += f": its process is gone (corral resume {run_id} continues it)"
        click.echo(why, err=True)
    return exit_code_of(run)
