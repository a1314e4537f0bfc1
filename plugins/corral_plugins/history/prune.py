"""``corral prune``: delete old runs from the run store."""

from __future__ import annotations

from typing import Any

import click


@click.command("prune")
@click.option(
    "--older-than",
    metavar="AGE",
    help="Delete finished runs started longer ago than AGE (30d, 12h, 2w). "
    "Default: the retention setting, CORRAL_STORE_RETENTION (90d).",
)
@click.option("--dry-run", is_flag=True, help="Only say how many runs would be deleted.")
@click.pass_obj
def prune_command(obj: Any, older_than: str | None, dry_run: bool) -> int:
    """Delete old finished runs, their units, events and snapshots.

    Runs still running are never deleted. Runs are also pruned automatically at
    the end of a run, at most once a day, by the retention setting.
    """
    import time

    from corral.errors import UsageError
    from corral.store.retention import parse_age, prune
    from corral_plugins.history.runs import open_store_for

    store = open_store_for(obj)
    try:
        if older_than is not None:
            age = parse_age(older_than, what="--older-than")
        elif store.retention is not None:
            age = store.retention
        else:
            raise UsageError(
                "no --older-than given and CORRAL_STORE_RETENTION keeps runs forever",
                hint="give --older-than 30d",
            )
        if dry_run:
            cutoff = time.time() - age
            (count,) = store.conn.execute(
                "SELECT count(*) FROM runs WHERE started < ? AND status != 'running'", (cutoff,)
            ).fetchone()
            click.echo(f"would delete {count} run(s) started before {_when(cutoff)}")
            return 0
        result = prune(store, age)
    finally:
        store.close()
    click.echo(f"deleted {result.runs} run(s), {result.units} unit(s), {result.events} event(s)")
    return 0


def _when(seconds: float) -> str:
    from corral_plugins.history.display import format_time

    return format_time(seconds)
