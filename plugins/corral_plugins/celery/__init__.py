"""``corral worker`` and ``corral workers``: the Celery side of scale-out (docs/scale-out.md).

Added through ``corral_register_commands``. Celery is an optional extra
(``pip install 'corral[celery]'``) and is imported only when one of the commands runs,
never when the CLI starts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from corral import hookimpl

if TYPE_CHECKING:
    import click


@hookimpl
def corral_register_commands(cli: click.Group) -> None:
    """Add ``corral worker`` and ``corral workers``."""
    from corral_plugins.celery.command import worker_command, workers_command

    cli.add_command(worker_command)
    cli.add_command(workers_command)
