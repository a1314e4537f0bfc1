"""Reading the run store from the command line: ``history``, ``show``, ``logs``, ``stats``,
``report``, ``prune`` and ``locks``.

A built-in plugin over the store's public read API (:mod:`corral.store.queries`,
:mod:`corral.store.retention`), added through ``corral_register_commands`` as a third
party would add its own commands. Each command opens the store of the CLI's
environment (``CORRAL_HOME``), reads, and closes it; none touches a host.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from corral import hookimpl

if TYPE_CHECKING:
    import click


@hookimpl
def corral_register_commands(cli: click.Group) -> None:
    """Add ``history``, ``show``, ``logs``, ``stats``, ``report``, ``prune`` and ``locks``."""
    from corral_plugins.history.locks import locks_command
    from corral_plugins.history.prune import prune_command
    from corral_plugins.history.report import report_command
    from corral_plugins.history.runs import (
        history_command,
        logs_command,
        show_command,
        stats_command,
    )

    for command in (
        history_command,
        show_command,
        logs_command,
        stats_command,
        report_command,
        prune_command,
        locks_command,
    ):
        cli.add_command(command)
