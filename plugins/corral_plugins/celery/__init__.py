"""Scale-out on Celery (docs/scale-out.md): the ``celery`` executor, ``corral worker``
and ``corral workers``.

Celery is an optional extra (``pip install 'corral[celery]'``) and is imported only when
one of the commands runs or a run uses the executor, never when the CLI starts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from corral import ExecutorType, RegisterExecutor, hookimpl

if TYPE_CHECKING:
    from collections.abc import Mapping

    import click

    from corral.engine.context import RunContext
    from corral.executors import Executor, RunQueue


@hookimpl
def corral_register_commands(cli: click.Group) -> None:
    """Add ``corral worker`` and ``corral workers``."""
    from corral_plugins.celery.command import worker_command, workers_command

    cli.add_command(worker_command)
    cli.add_command(workers_command)


def _open(run: RunContext) -> Executor:
    from corral_plugins.celery.executor import open_executor

    return open_executor(run)


def _run_queue(environ: Mapping[str, str]) -> RunQueue:
    from corral_plugins.celery.run_queue import open_run_queue

    return open_run_queue(environ)


@hookimpl
def corral_register_executors(register: RegisterExecutor) -> None:
    """Register ``celery``: a run's host work in shards on corral workers; with
    ``corral serve``, whole runs on them."""
    register(
        ExecutorType(
            name="celery",
            open=_open,
            description="Host work in shards on corral workers behind a broker; "
            "served runs whole on them.",
            run_queue=_run_queue,
        )
    )
