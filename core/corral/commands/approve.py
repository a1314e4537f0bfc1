"""``corral approve``: answer a run that waits for an approval, from any shell."""

from __future__ import annotations

from typing import Any

import click


@click.command("approve")
@click.argument("run")
@click.option("--reject", is_flag=True, help="Say no instead of yes.")
@click.option("--comment", default="", metavar="TEXT", help="Why; kept with the decision.")
@click.pass_obj
def approve_command(obj: Any, run: str, reject: bool, comment: str) -> int:
    """Approve (or --reject) what RUN is waiting for.

    RUN is a run id, a unique prefix of one, or `last`. The decision, with who
    made it and when, is kept in the run store.
    """
    from corral.engine.approval import who
    from corral.errors import UsageError
    from corral.store.approvals import decide, pending
    from corral.store.db import open_store

    store = open_store(obj.environ)
    try:
        run_id = store.resolve_run(run)["id"]
        waiting = pending(store, run_id)
        if not waiting:
            raise UsageError(
                f"run {run_id} is not waiting for an approval",
                hint="see 'corral show RUN' for what it is doing",
            )
        count = decide(store, run_id, approved=not reject, by=who(), comment=comment)
    finally:
        store.close()
    verdict = "rejected" if reject else "approved"
    for row in waiting[:count]:
        click.echo(f"{verdict}: {row['message']} ({run_id})")
    return 0
