"""``corral worker`` (a Celery worker with corral's tasks) and ``corral workers`` (who is alive).

Only click is imported here at start-up; Celery is imported when one of the commands runs.
"""

from __future__ import annotations

import json
import os
from typing import Any

import click

from corral.errors import EXIT_OK

__all__ = ["worker_command", "workers_command"]

_BROKER_HELP = (
    "Broker URL, for example redis://127.0.0.1:6379/0. Default: $CORRAL_BROKER_URL, "
    "then scale_out.broker_url in ./corral.yml."
)


@click.command("worker")
@click.option("--broker", metavar="URL", help=_BROKER_HELP)
@click.option(
    "-Q",
    "--queue",
    "queues",
    multiple=True,
    metavar="NAME",
    help="Serve this queue; repeatable. Default: scale_out.queues in ./corral.yml, else corral.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    metavar="N",
    help="Shards run at once. Default: the number of CPUs.",
)
@click.option(
    "--pool",
    type=click.Choice(["prefork", "threads", "solo"]),
    default="prefork",
    show_default=True,
    help="prefork: a process per slot; threads: threads of this process; solo: one at a time.",
)
@click.option(
    "--name",
    metavar="NAME",
    help="The worker's name, unique on the broker; %h stands for the host name. "
    "Default: corral-PID@%h.",
)
@click.option(
    "--loglevel",
    type=click.Choice(["debug", "info", "warning", "error"], case_sensitive=False),
    default="info",
    show_default=True,
    help="How much the worker logs to stderr.",
)
@click.option("--new-key", is_flag=True, help="Print a fresh broker key and exit.")
@click.pass_obj
def worker_command(
    obj: Any,
    broker: str | None,
    queues: tuple[str, ...],
    concurrency: int | None,
    pool: str,
    name: str | None,
    loglevel: str,
    new_key: bool,
) -> int:
    """Run a worker for the celery executor in this process, until SIGTERM or Ctrl-C.

    The worker takes shards from its queues (by default the queue named corral), runs
    them and sends sealed results back. It needs the broker URL and the shared key
    (CORRAL_BROKER_KEY or CORRAL_BROKER_KEY_FILE): see docs/scale-out.md. SIGTERM and a
    first Ctrl-C stop it after the shards it is running (exit 0).
    """
    from corral_plugins.celery.crypto import new_key as make_key

    if new_key:
        click.echo(make_key())
        return EXIT_OK
    from celery.utils.nodenames import host_format

    from corral_plugins.celery.app import make_app
    from corral_plugins.celery.consumer import Consumer
    from corral_plugins.celery.settings import load_settings

    settings = load_settings(obj.environ, broker_url=broker, queues=queues, need_key=True)
    app = make_app(settings)
    worker = app.Worker(
        hostname=host_format(name or f"corral-{os.getpid()}@%h"),
        consumer_cls=Consumer,  # survives a broker restart while it holds a shard
        queues=list(settings.queues),
        concurrency=concurrency or os.cpu_count() or 1,
        pool_cls=pool,
        loglevel=loglevel.upper(),
        quiet=True,  # no ASCII-art banner: the log says the same in one line
        without_mingle=True,  # nothing to sync: corral's workers keep no state
        without_gossip=True,
    )
    worker.start()
    code = worker.exitcode
    return code if isinstance(code, int) else EXIT_OK


@click.command("workers")
@click.option("--broker", metavar="URL", help=_BROKER_HELP)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1),
    default=2.0,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait for the broker and for workers' answers.",
)
@click.option(
    "--output",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="A table, or a JSON list of {name, queues, active}.",
)
@click.pass_obj
def workers_command(obj: Any, broker: str | None, timeout: float, output: str) -> int:
    """List the live workers on the broker: name, queues, tasks running (exit 3 if none)."""
    from corral_plugins.celery.app import make_app
    from corral_plugins.celery.settings import load_settings
    from corral_plugins.celery.workers import live_workers

    settings = load_settings(obj.environ, broker_url=broker, need_key=False)
    app = make_app(settings)
    try:
        found = live_workers(app, settings, timeout)
    finally:
        app.close()
    if output == "json":
        click.echo(json.dumps([w.as_json() for w in found], indent=2))
    else:
        from corral_plugins.history.runs import table

        rows = [(w.name, ",".join(w.queues), w.active) for w in found]
        click.echo(table(("WORKER", "QUEUES", "ACTIVE"), rows))
    return EXIT_OK
