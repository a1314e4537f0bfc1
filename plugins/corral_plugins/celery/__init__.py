"""Scale-out on Celery (docs/scale-out.md): the ``celery`` executor, ``corral worker``
and ``corral workers``.

Celery is an optional extra (``pip install 'corral[celery]'``) and is imported only when
one of the commands runs or a run uses the executor, never when the CLI starts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from corral import ExecutorType, RegisterExecutor, hookimpl

if TYPE_CHECKING:
    import click

    from corral.engine.context import RunContext
    from corral.executors import Executor


@hookimpl
def corral_register_commands(cli: click.Group) -> None:
    """Add ``corral worker`` and ``corral workers``."""
    from corral_plugins.celery.command import worker_command, workers_command

    cli.add_command(worker_command)
    cli.add_command(workers_command)


def _open(run: RunContext) -> Executor:
    from corral_plugins.celery.executor import open_executor

    return open_executor(run)


@hookimpl
def corral_register_executors(register: RegisterExecutor) -> None:
    """Register ``celery``: a run's host work in shards on corral workers."""
    register(
        ExecutorType(
            name="celery",
            open=_open,
            description="Host work in shards on corral workers behind a broker.",
        )
    )
