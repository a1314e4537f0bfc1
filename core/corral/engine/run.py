"""Run a loaded playbook: plays in order, hosts that failed dropped from later plays, a recap."""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from corral.engine.context import RunContext
from corral.engine.dag import run_graph
from corral.engine.events import EventBus
from corral.engine.options import RunOptions
from corral.engine.play import PlayRunner
from corral.engine.results import Recap
from corral.engine.signals import StopControl
from corral.engine.variables import RunVariables, host_pattern, play_variables
from corral.errors import EXIT_FAILED, EXIT_INTERRUPTED
from corral.executors import open_executor
from corral.output import Writer
from corral.playbook.model import Play, Playbook
from corral.plugins import Registry
from corral.run_info import RunInfo
from corral.secrets import Secret

if TYPE_CHECKING:
    from corral.inventory import Inventory
    from corral.playbook.templating.templar import Templar


@dataclass(frozen=True)
class RunOutcome:
    """How a run ended."""

    run_id: str
    exit_code: int
    recap: Recap
    duration: float


def new_run_id() -> str:
    """A sortable, unique run id: UTC time plus randomness, e.g. ``20261124T091502-3fa9c1``."""
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + "-" + secrets.token_hex(3)


def run_playbook(
    playbook: Playbook,
    inventory: Inventory,
    registry: Registry,
    options: RunOptions,
    writers: Sequence[Writer],
    control: StopControl | None = None,
    templar: Templar | None = None,
) -> RunOutcome:
    """Run every play of ``playbook`` and return the recap and exit code.

    ``control`` lets the caller stop the run (see :mod:`corral.engine.signals`);
    a run that was asked to stop ends with exit code 99. ``templar`` is the one
    the run was checked with (:attr:`PreparedRun.templar`); one is made when not given.
    """
    run_id = options.run_id or new_run_id()
    if templar is None:
        from corral.playbook.templating.content_plugins import content_plugins
        from corral.playbook.templating.templar import Templar

        templar = Templar(
            functions=registry.template_functions,
            search_paths=[playbook.base_dir],
            environ=os.environ,
            content=content_plugins(playbook, os.environ),
        )
    info = RunInfo(run_id, playbook.path, options, templar, playbook.extensions)
    bus = EventBus(run_id, list(writers), observer=partial(registry.emit, run=info))
    bus.start()
    try:
        return _run(playbook, inventory, registry, options, bus, control, templar)
    finally:
        bus.close()


def _run(
    playbook: Playbook,
    inventory: Inventory,
    registry: Registry,
    options: RunOptions,
    bus: EventBus,
    control: StopControl | None,
    templar: Templar,
) -> RunOutcome:
    run_id = bus.run_id
    variables = RunVariables(params=options.params, extra_vars=options.extra_vars)
    for value in (*options.params.values(), *variables.top.values()):
        if isinstance(value, Secret):
            bus.add_secret(value.reveal())
    run = RunContext(
        registry=registry,
        templar=templar,
        options=options,
        bus=bus,
        inventory=inventory,
        playbook=playbook,
        control=control or StopControl(),
        variables=variables,
    )
    run.executor = open_executor(run)
    # Grace period over, or aborted: closing the connections kills the commands still
    # running, so no unit outlives the grace period. The cleanup that follows (always
    # sections, handlers, rollbacks) opens them again on first use.
    run.control.on_kill(run.close_connections)
    # Cancel, pause and continue asked from another process are events of the run.
    run.control.listen(lambda note: bus.emit("control", **note))
    started = time.monotonic()
    bus.emit(
        "run_start",
        playbook=str(playbook.path),
        check=options.check,
        pid=os.getpid(),
        resumed=options.resume is not None,
        **_keyword_fields(registry, playbook),
    )
    if options.policy is not None:
        bus.emit("policy", **options.policy)
    for warning in getattr(inventory, "warnings", ()):
        bus.warn(warning)
    interrupted = False
    try:
        if any(play.needs for play in playbook.plays):
            _run_dag(run, playbook)
        else:
            for play in playbook.plays:
                if _run_play(run, play, dag=False) == "no_hosts_left" or run.stopping.is_set():
                    break
    except KeyboardInterrupt:
        run.control.abort()
        interrupted = True
    finally:
        run.control.listen(None)  # the recap stays the last event
        try:
            run.executor.close()
        finally:
            run.close_connections()
    duration = time.monotonic() - started
    interrupted = interrupted or run.stopping.is_set()
    exit_code = EXIT_INTERRUPTED if interrupted else run.recap.exit_code()
    if exit_code == 0 and run.rejected:
        exit_code = EXIT_FAILED  # an approval said no: the run did not do what it was for
    bus.emit(
        "recap",
        hosts=run.recap.hosts,
        exit_code=exit_code,
        duration=round(duration, 3),
        playbook=str(playbook.path),
        **_keyword_fields(registry, playbook),
    )
    return RunOutcome(run_id=run_id, exit_code=exit_code, recap=run.recap, duration=duration)


# The fields run_start and recap carry themselves.
_OWN_FIELDS = frozenset(
    [
        "v",
        "event",
        "run_id",
        "time",
        "playbook",
        "check",
        "pid",
        "resumed",
        "hosts",
        "exit_code",
        "duration",
    ]
)


def _keyword_fields(registry: Registry, playbook: Playbook) -> dict[str, Any]:
    """Per plugin play keyword, the plays' values, for ``run_start`` and ``recap``.

    List values (a list of entries per play) are joined in play order; others are
    listed, one per play that sets the keyword. A keyword named like a field of
    these events is left out: plugins read it from ``run.extensions``.
    """
    fields: dict[str, Any] = {}
    extensions = playbook.extensions
    for name in (n for n in registry.play_keywords if n not in _OWN_FIELDS):
        values = extensions.get(name, ())
        if all(isinstance(value, list | tuple) for value in values):
            fields[name] = [item for value in values for item in value]
        else:
            fields[name] = list(values)
    return fields


def _run_dag(run: RunContext, playbook: Playbook) -> None:
    plays = {play.name: play for play in playbook.plays}

    def run_one(name: str) -> str:
        outcome = _run_play(run, plays[name], dag=True)
        return "succeeded" if outcome == "succeeded" else "failed"

    def skip(name: str, reason: str) -> None:
        play = plays[name]
        run.bus.emit(
            "play_skipped", play=name, uid=play.uid, reason=reason, location=str(play.location)
        )

    run_graph(
        list(plays),
        {name: play.needs for name, play in plays.items()},
        run_one,
        skip,
        run.options.max_parallel_plays,
        run.stopping.is_set,
    )


def _run_play(run: RunContext, play: Play, *, dag: bool) -> str:
    """Run one play: "succeeded", "failed", or "no_hosts_left" (every host failed before)."""
    pattern = host_pattern(play, run.variables, run.templar)
    pattern_hosts = run.inventory.select(pattern, limit=run.options.limit)
    resume = run.options.resume
    if resume is not None and resume.limit_hosts is not None:
        pattern_hosts = [h for h in pattern_hosts if h in resume.limit_hosts]
    # Hosts enter the recap with their first result (Recap.count), so hosts of
    # batches that never started are not listed, as in Ansible.
    # In file order, hosts that failed in an earlier play are left out (as in Ansible);
    # in a DAG a play runs only after the plays it needs succeeded, with all its hosts.
    hosts = pattern_hosts if dag else [h for h in pattern_hosts if run.state(h).active]
    hosts = _ordered(hosts, play.order)
    run.bus.emit(
        "play_start", play=play.name, uid=play.uid, hosts=hosts, location=str(play.location)
    )
    if not hosts:
        if pattern_hosts:
            run.bus.emit("play_end", play=play.name, uid=play.uid, note="no more hosts left")
            return "no_hosts_left"
        run.bus.warn(f"no hosts matched pattern {pattern!r} for play {play.name!r}")
        run.bus.emit("play_end", play=play.name, uid=play.uid, note="no hosts matched")
        return "succeeded"
    runner = PlayRunner(run, play, hosts, play_variables(play, run.variables, run.templar))
    succeeded = runner.run_play()
    aborted = runner.pctx.aborted
    run.bus.emit(
        "play_end",
        play=play.name,
        uid=play.uid,
        status="succeeded" if succeeded else "failed",
        note="no more hosts left" if aborted and not dag else None,
    )
    if not dag and (aborted or not any(run.state(h).active for h in hosts)):
        return "no_hosts_left"
    return "succeeded" if succeeded else "failed"


def _ordered(hosts: list[str], order: str) -> list[str]:
    if order == "sorted":
        return sorted(hosts)
    if order == "reverse_sorted":
        return sorted(hosts, reverse=True)
    if order == "reverse_inventory":
        return list(reversed(hosts))
    return hosts
