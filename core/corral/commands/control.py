"""``corral cancel``, ``corral pause``, ``corral continue``: ask a run from any shell.

The request goes through the run store (:mod:`corral.store.control`); the run acts on
it within a second, at its next task boundary.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from corral.store.control import ControlResult
    from corral.store.db import Store

_RUN_HELP = "RUN is a run id, a unique prefix of one, or `last`."
_JSON = click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")


@click.command("cancel")
@click.argument("run")
@click.option(
    "--grace",
    metavar="DURATION",
    help="How long running tasks get to finish before being killed (30s, 2m; "
    "default: the run's own --grace); the cleanup after them gets as long again.",
)
@click.option(
    "--now",
    is_flag=True,
    help="Abort at once: kill running tasks, run no always section, handler or rollback "
    "(also a run already being cancelled).",
)
@_JSON
@click.pass_obj
def cancel_command(obj: Any, run: str, grace: str | None, now: bool, as_json: bool) -> int:
    """Cancel RUN from any shell; it ends `cancelled`.

    No new task starts; running tasks finish (or are killed after the grace
    period); always sections, handlers and the rollback of the play cut short run.
    `--now` aborts at once instead. A queued run is cancelled at once and never
    starts. RUN is a run id, a unique prefix of one, or `last`.
    """
    from corral.errors import UsageError
    from corral.store.control import request_cancel

    if now and grace is not None:
        raise UsageError(
            "--now and --grace cannot be used together: --now gives no grace period",
            hint="drop --now to let running tasks finish, or --grace to abort at once",
        )
    seconds = _grace(grace)
    return _ask(
        obj, as_json, lambda store, by: request_cancel(store, run, by=by, grace=seconds, now=now)
    )


@click.command("pause", help=f"Pause RUN: running tasks finish, no new task starts. {_RUN_HELP}")
@click.argument("run")
@_JSON
@click.pass_obj
def pause_command(obj: Any, run: str, as_json: bool) -> int:
    from corral.store.control import request_pause

    return _ask(obj, as_json, lambda store, by: request_pause(store, run, by=by))


@click.command("continue", help=f"Continue RUN after 'corral pause'. {_RUN_HELP}")
@click.argument("run")
@_JSON
@click.pass_obj
def continue_command(obj: Any, run: str, as_json: bool) -> int:
    from corral.store.control import request_continue

    return _ask(obj, as_json, lambda store, by: request_continue(store, run, by=by))


def _ask(obj: Any, as_json: bool, request: Callable[[Store, str], ControlResult]) -> int:
    """Open the store, make the request as the person at this terminal, print the outcome."""
    from corral.engine.approval import who
    from corral.store.db import open_store

    store = open_store(obj.environ)
    try:
        result = request(store, who())
    finally:
        store.close()
    if as_json:
        import json

        click.echo(json.dumps(result.as_dict(), sort_keys=True))
    else:
        click.echo(result.message)
    return 0


def _grace(text: str | None) -> float | None:
    """``--grace`` in seconds, with the duration syntax playbooks use."""
    if text is None:
        return None
    from corral.engine.retry import parse_duration
    from corral.errors import PlaybookError, UsageError

    try:
        seconds = parse_duration(text)
    except PlaybookError:
        seconds = None
    if seconds is None or seconds < 0:
        raise UsageError(
            f"--grace {text!r} is not a duration", hint="use seconds or 500ms, 30s, 5m, 1h"
        )
    return seconds
