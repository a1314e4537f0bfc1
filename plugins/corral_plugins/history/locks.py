"""``corral locks``: the hosts and named locks running runs hold (see docs/locks.md)."""

from __future__ import annotations

import json
from typing import Any

import click

from corral_plugins.history.display import format_duration
from corral_plugins.history.runs import open_store_for, table


@click.command("locks")
@click.option("--json", "as_json", is_flag=True, help="Print the leases as JSON.")
@click.pass_obj
def locks_command(obj: Any, as_json: bool) -> int:
    """List the hosts and locks held by running runs, oldest first.

    Leases of runs whose process is gone are cleared first, so what is listed is held.
    """
    from corral.store.leases import lease_rows

    store = open_store_for(obj)
    try:
        rows = lease_rows(store)
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    elif not rows:
        click.echo("no locks held")
    else:
        click.echo(
            table(
                ["NAME", "RUN", "PLAYBOOK", "HOLDER", "SINCE", "HEARTBEAT"],
                [
                    [
                        row["name"],
                        row["run_id"],
                        row["playbook"] or None,
                        f"{row['pid']}@{row['controller']}",
                        f"{format_duration(row['age'])} ago",
                        f"{format_duration(row['heartbeat_age'])} ago",
                    ]
                    for row in rows
                ],
            )
        )
    return 0
