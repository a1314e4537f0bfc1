"""Built-in triggers: what starts a playbook without a person typing ``corral run``.

``cron`` (a schedule in a time zone), ``file`` (changed files), ``run`` (another
playbook's run ended) and ``webhook`` (a signed HTTP delivery) are registered here
through ``corral_register_triggers``, exactly as a third-party trigger would be, with
``corral schedule --emit systemd`` for hosts without a server. Registering imports only
the schemas; the code (croniter, watchfiles, the run store, Jinja2) is imported when a
trigger is used.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from corral import Receiver, RegisterTrigger, TriggerContext, TriggerType, hookimpl
from corral_plugins.triggers.schemas import CRON_SCHEMA, FILE_SCHEMA, RUN_SCHEMA, WEBHOOK_SCHEMA

if TYPE_CHECKING:
    import click


def _lazy_watch(module: str) -> Callable[[TriggerContext, Mapping[str, Any]], None]:
    """The ``watch`` of ``corral_plugins.triggers.MODULE``, imported when a trigger is armed."""

    def watch(ctx: TriggerContext, args: Mapping[str, Any]) -> None:
        importlib.import_module(f"corral_plugins.triggers.{module}").watch(ctx, args)

    return watch


def _validate_cron(args: Mapping[str, Any]) -> None:
    from corral_plugins.triggers.cron import CronSchedule

    CronSchedule.from_args(args)


def _next_cron(args: Mapping[str, Any], playbook: str, now: datetime) -> datetime:
    from corral_plugins.triggers.cron import CronSchedule

    schedule = CronSchedule.from_args(args, seed=playbook)
    return schedule.next_fire(now).astimezone(schedule.zone)


def _validate_webhook(args: Mapping[str, Any]) -> None:
    from corral_plugins.triggers.hook_params import HookParams
    from corral_plugins.triggers.webhook import WebhookSettings

    HookParams(WebhookSettings.from_args(args).params or {})  # a template's syntax


def _webhook_receiver(
    args: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> Receiver:
    from corral_plugins.triggers.webhook import make_receiver

    return make_receiver(args, environ)


def _no_watch(ctx: TriggerContext, args: Mapping[str, Any]) -> None:
    """A webhook waits for the server's HTTP requests, not in a thread of its own."""


@hookimpl
def corral_register_triggers(register: RegisterTrigger) -> None:
    """Register the ``cron``, ``file``, ``run`` and ``webhook`` triggers."""
    register(
        TriggerType(
            name="cron",
            watch=_lazy_watch("cron"),
            schema=CRON_SCHEMA,
            description="Run on a crontab schedule, in a time zone, DST handled.",
            validate=_validate_cron,
            next_fire=_next_cron,
        )
    )
    register(
        TriggerType(
            name="file",
            watch=_lazy_watch("files"),
            schema=FILE_SCHEMA,
            description="Run when files change; a burst of changes is one run.",
        )
    )
    register(
        TriggerType(
            name="run",
            watch=_lazy_watch("runs"),
            schema=RUN_SCHEMA,
            description="Run when another playbook's run ends (success, failure or any).",
        )
    )
    register(
        TriggerType(
            name="webhook",
            watch=_no_watch,
            schema=WEBHOOK_SCHEMA,
            description="Run on a signed HTTP delivery (GitHub or generic HMAC-SHA256).",
            validate=_validate_webhook,
            path=lambda args: str(args["path"]),
            receiver=_webhook_receiver,
            templates=("params",),
        )
    )


@hookimpl
def corral_register_commands(cli: click.Group) -> None:
    """Add ``corral schedule`` (cron triggers as systemd timers)."""
    from corral_plugins.triggers.commands import schedule_command

    cli.add_command(schedule_command)
