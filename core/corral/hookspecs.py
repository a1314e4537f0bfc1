"""Every hook a corral plugin can implement: the contract between the core and plugins.

Hooks are called with keyword arguments only, and an implementation may accept
fewer arguments than its spec, so a spec can gain an argument without breaking
plugins. Only :mod:`corral.plugins` calls hooks; the engine sees a frozen
:class:`corral.plugins.Registry`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from pluggy import HookspecMarker

if TYPE_CHECKING:
    import click

    from corral.connection import ConnectionType
    from corral.executors import ExecutorType
    from corral.inventory.source import InventorySourceType
    from corral.output import OutputType
    from corral.playbook.play_keyword import PlayKeyword
    from corral.playbook.templating.function_type import TemplateFunction
    from corral.policy.model import PlannedRun, Verdict
    from corral.run_info import RunInfo
    from corral.steps import StepType
    from corral.triggers import TriggerType

hookspec = HookspecMarker("corral")

RegisterStep = Callable[["StepType"], None]
RegisterConnection = Callable[["ConnectionType"], None]
RegisterTrigger = Callable[["TriggerType"], None]
RegisterInventorySource = Callable[["InventorySourceType"], None]
RegisterTemplateFunction = Callable[["TemplateFunction"], None]
RegisterOutput = Callable[["OutputType"], None]
RegisterPlayKeyword = Callable[["PlayKeyword"], None]
RegisterExecutor = Callable[["ExecutorType"], None]


# -------------------------------------------------------------------------
# Registration hooks: called once per plugin manager, while the registry is
# built, before any playbook is loaded.
# -------------------------------------------------------------------------


@hookspec
def corral_register_steps(register: RegisterStep) -> None:
    """Register step types (what a task can do).

    *Called:* once per plugin, when corral builds its registry at start-up.

    :param register: call ``register(StepType(...))`` once per step type. A name
        or alias that another plugin already registered is an error naming both.

    *Returns:* nothing. *Since:* 0.1.
    """


@hookspec
def corral_register_connections(register: RegisterConnection) -> None:
    """Register connection types (how step code reaches a host).

    *Called:* once per plugin, when corral builds its registry at start-up.

    :param register: call ``register(ConnectionType(...))`` once per connection
        type; hosts pick one with the ``ansible_connection`` variable.

    *Returns:* nothing. *Since:* 0.1.
    """


@hookspec
def corral_register_triggers(register: RegisterTrigger) -> None:
    """Register trigger types (what starts a run: a schedule, a webhook, a file change).

    *Called:* once per plugin, when corral builds its registry at start-up.

    :param register: call ``register(TriggerType(...))`` once per trigger type.

    *Returns:* nothing. *Since:* 0.1.
    """


@hookspec
def corral_register_inventory_sources(register: RegisterInventorySource) -> None:
    """Register inventory source types (readers for what ``-i`` names).

    *Called:* once per plugin, when corral builds its registry at start-up.
    corral's own INI, YAML, script and host-list readers are registered the same
    way, by the built-in ``inventory`` plugin.

    *Order:* the same for every ``-i`` source and every file of a directory: first
    the sources of plugins other than corral's own, in plugin load order (so an
    installed plugin can take over a file corral would read itself), then
    corral's built-in readers in Ansible's order: host list, script, YAML, INI.
    The first source whose ``verify`` accepts and whose ``parse`` succeeds wins.

    :param register: call ``register(InventorySourceType(...))`` once per source type.

    *Returns:* nothing. *Since:* 0.1.
    """


@hookspec
def corral_register_filters(register: RegisterTemplateFunction) -> None:
    """Register Jinja2 filters, tests and lookups for playbook templates.

    *Called:* once per plugin, when corral builds its registry at start-up.

    :param register: call ``register(TemplateFunction(name, function, kind))``
        with ``kind`` one of ``"filter"``, ``"test"`` or ``"lookup"``; a lookup
        that needs the render's files, environment or variables sets
        ``pass_scope=True`` and gets a :class:`corral.LookupScope` first.
        Ansible's own come from the built-in ``jinja`` plugin this way.

    *Returns:* nothing. *Since:* 0.1 (``pass_scope``: 0.2).
    """


@hookspec
def corral_register_outputs(register: RegisterOutput) -> None:
    """Register output types (what ``corral run --output NAME`` writes events with).

    *Called:* once per plugin, when corral builds its registry at start-up.

    :param register: call ``register(OutputType(name, factory, ...))`` once per
        output; ``factory(OutputOptions)`` builds the run's writer. A name another
        plugin already registered is an error naming both.

    *Returns:* nothing. *Since:* 0.2.
    """


@hookspec
def corral_register_executors(register: RegisterExecutor) -> None:
    """Register executors: where a run's units run (``corral run --executor NAME``).

    *Called:* once per plugin, when corral builds its registry at start-up.

    :param register: call ``register(ExecutorType(name, open, ...))`` once per
        executor; ``open(run)`` builds the executor of one run (see
        :mod:`corral.executors`). The built-in ``local`` runs units in the process.

    *Returns:* nothing. *Since:* 0.3.
    """


@hookspec
def corral_register_play_keywords(register: RegisterPlayKeyword) -> None:
    """Register play keywords that belong to a plugin, not to corral's own playbook language.

    *Called:* once per plugin, when corral builds its registry at start-up.

    :param register: call ``register(PlayKeyword(name, schema, validate))`` once
        per keyword. The loader checks a play's value against ``schema``, then
        ``validate``, and keeps it in ``Play.extensions[name]``; ``corral_event``
        implementations read it from ``run.extensions``. A name that is a core
        play keyword, or that another plugin registered, is an error.

    *Returns:* nothing. *Since:* 0.2.
    """


# -------------------------------------------------------------------------
# CLI hooks
# -------------------------------------------------------------------------


@hookspec
def corral_register_commands(cli: click.Group) -> None:
    """Add subcommands to the ``corral`` command line.

    *Called:* once per plugin, each time the CLI is built (once per ``corral``
    invocation), before arguments are parsed.

    :param cli: the top-level click group; use ``@cli.command()`` or
        ``cli.add_command(...)``. Import heavy libraries inside the command, not
        at module level, so ``corral --help`` stays fast.

    *Returns:* nothing. *Since:* 0.1.
    """


# -------------------------------------------------------------------------
# Run event hooks
# -------------------------------------------------------------------------


@hookspec
def corral_event(event: Mapping[str, Any], run: RunInfo) -> None:
    """Observe a run: called for every run, play, task, host and handler event.

    *Called:* from the run's event-delivery thread, one event at a time, in the
    order they happened (``run_start``, ``play_start``, ``task_start``,
    ``task_result``, ``item_result``, ``handler_start``, ``play_end``,
    ``recap``; see ``docs/events.md`` for the schema), before the output and the
    run store see the event. Not historic: a plugin registered mid-run sees only
    later events. A slow implementation does not hold up the hosts, but it delays
    the output; an exception is reported as a warning and never stops the run.

    :param event: a JSON-serialisable mapping with at least ``event`` (its kind),
        ``run_id`` and ``time``; secrets are already redacted.
    :param run: the run the event belongs to (:class:`corral.RunInfo`): its id,
        options, the plays' plugin keyword values (``run.extensions``) and
        ``run.render(value, variables)`` with the run's templar. Optional: an
        implementation written as ``corral_event(event)`` keeps working.

    *Returns:* nothing. *Since:* 0.1; ``run`` since 0.2.
    """


# -------------------------------------------------------------------------
# Policy hooks
# -------------------------------------------------------------------------


@hookspec
def corral_check_run(plan: PlannedRun) -> Verdict | Iterable[Verdict] | None:
    """Judge a planned run before any host is touched: refuse it, or ask for an approval.

    *Called:* once per ``corral run`` (and per run ``corral serve`` starts) and per
    ``corral plan``, after the playbook, inventory and params are checked and each
    play's hosts are known, after the rules of the project's ``policy.yml``; never
    for ``corral resume``. A plugin that raises refuses the run (fail closed).

    :param plan: the planned run (:class:`corral.PlannedRun`): the playbook, each
        play's hosts and their groups, the params and extra vars (secret ones as
        :class:`corral.Secret`), ``limit``, ``user``, ``check`` and ``trigger``.

    *Returns:* ``None`` when the plugin has nothing to say, or one or more
    :class:`corral.Verdict` values: ``outcome="refuse"`` stops the run (exit 4, the
    rule's name and reason), ``outcome="approval"`` makes the plays named in
    ``plays`` (all when empty) wait for an approval, ``"allow"`` and
    ``"not applicable"`` are recorded and shown by ``corral plan``. Every verdict is
    recorded with the run (the ``policy`` event). *Since:* 0.2.
    """
