"""Run one play: pick its hosts, split them into ``serial`` batches, drive a strategy.

``linear`` keeps hosts in step: each round takes the smallest ``seq`` among
the hosts' next units and hands that task, for every host waiting at it, to the
run's executor (corral.executors; ``local`` runs them ``forks`` at a time in this
process). ``free`` lets each host walk its whole plan on a thread of its own, each
unit through the executor too.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from corral.engine.addhosts import apply_add_hosts
from corral.engine.context import PlayContext, RunContext
from corral.engine.hosts import HostState
from corral.engine.includes import resolve_include
from corral.engine.options import task_selected
from corral.engine.plan import Plan, PlanSettings, Unit, host_units, rollback_units
from corral.engine.results import UnitResult
from corral.engine.retry import parse_duration
from corral.engine.selection import start_matches
from corral.engine.taskrun import META_STEP, TaskRunner
from corral.engine.throttle import Throttles
from corral.engine.variables import magic_variables, play_scope, play_serial
from corral.errors import CorralError, PlaybookError
from corral.executors import UnitWork
from corral.playbook.model import Play, Task
from corral.playbook.templating.environment import Verbatim
from corral.steps import AddHost

FACTS_STEP = "setup"


def serial_batches(hosts: Sequence[str], serial: Sequence[Any]) -> list[list[str]]:
    """Split ``hosts`` as Ansible's ``serial`` does.

    Sizes are ints or percentages; in a list, the last size repeats.
    """
    if not serial:
        return [list(hosts)] if hosts else []
    sizes: list[int] = []
    for value in serial:
        text = str(value).strip()
        percent = text.endswith("%")
        size = math.floor(len(hosts) * float(text[:-1]) / 100) if percent else int(text)
        sizes.append(max(1, size) if size > 0 or text.endswith("%") else len(hosts))
    batches: list[list[str]] = []
    start = 0
    index = 0
    while start < len(hosts):
        size = sizes[min(index, len(sizes) - 1)]
        batches.append(list(hosts[start : start + size]))
        start += size
        index += 1
    return batches


class PlayRunner:
    """Runs one play across its hosts."""

    def __init__(
        self, run: RunContext, play: Play, hosts: list[str], play_vars: dict[str, Any]
    ) -> None:
        self.run = run
        self.play = play
        self.hosts = hosts
        # Each play works on its own copy of the hosts' flags (see HostState.for_play).
        self.states = {h: run.state(h).for_play() for h in hosts}
        self.pctx = PlayContext(run=run, play=play, play_vars=play_vars, magic={})
        self.runner = TaskRunner(self.pctx)
        # The run stopped (signal, corral cancel) before the play got to its end.
        self.cut_short = False
        self.throttles = Throttles(
            lambda value: run.templar.render(value, play_scope(play_vars, run.variables))
        )
        # The free strategy's hosts, each walking its plan (the units go to the executor).
        self.pool = ThreadPoolExecutor(
            max_workers=max(1, min(run.options.forks, len(hosts) or 1)), thread_name_prefix="corral"
        )
        self.settings = PlanSettings(
            selected=self._selected,
            resolve_include=lambda include, state, include_vars: resolve_include(
                self.pctx, include, state, include_vars
            ),
            is_flush=self._is_flush,
            on_rescue=lambda state: run.recap.rescue(state.name),
            # Also where a paused run waits (corral pause): before each new unit.
            stopping=run.control.hold,
            on_stop=self._stopped,
            facts_task=self._facts_task(),
        )

    # -- plan settings -----------------------------------------------------

    def _facts_task(self) -> Task | None:
        if not self.play.gather_facts:
            return None
        if FACTS_STEP not in self.run.registry.steps:
            raise PlaybookError(
                "gather_facts needs the 'setup' step, which no plugin provides",
                location=self.play.location,
            )
        return Task(
            name="Gathering Facts",
            action=FACTS_STEP,
            args={},
            location=self.play.location,
            uid=f"{self.play.uid}/facts",
            connection=self.play.connection,
        )

    def _stopped(self, state: HostState) -> None:
        self.cut_short = True

    def _is_flush(self, task: Task) -> bool:
        step = self.run.registry.steps.get(task.action)
        return (
            step is not None
            and step.name == META_STEP
            and task.args.get("action") == "flush_handlers"
        )

    def _selected(self, task: Task) -> bool:
        options = self.run.options
        if options.start_at_task and not self.run.started_at_task:
            if not start_matches(task, options.start_at_task):
                return False
            self.run.started_at_task = True
        return task_selected(task.tags | self.play.tags, options.tags, options.skip_tags)

    # -- running -----------------------------------------------------------

    def run_play(self) -> bool:
        """Run every batch; stop early when failures pass the play's limits; roll back on failure.

        Returns whether the play succeeded: no host failed or was unreachable.
        Failure flags are copied back to the run, so later plays (in file
        order) leave failed hosts out, as Ansible does.
        """
        if self.play.approval and not self._approved():
            return False
        timeout = (
            parse_duration(self.run.templar.render(self.play.timeout, {}))
            if self.play.timeout
            else None
        )
        self.pctx.deadline = None if timeout is None else time.monotonic() + timeout
        try:
            serial = play_serial(self.play, self.run.variables, self.run.templar)
            batches = serial_batches(self.hosts, serial)
            for index, batch in enumerate(batches):
                self._set_magic(batch)
                if self.play.strategy == "free":
                    self._run_free(batch)
                else:
                    self._run_linear(
                        batch, lambda state: host_units(self.play, state, self.settings)
                    )
                if self.pctx.ending.is_set() or self._limits_passed(batch, final=True):
                    break
                if self.run.stopping.is_set() and index + 1 < len(batches):
                    self.cut_short = True  # the later batches never start
                    break
            succeeded = not any(s.failed or s.unreachable for s in self.states.values())
            # A play the run stopped in the middle of did not complete: it is rolled
            # back like a failed one (unless the run was aborted: nothing more runs).
            if (not succeeded or self.cut_short) and not self.run.cancelled.is_set():
                self._rollback("failed" if not succeeded else "stopped")
        finally:
            # After an abort, units still running are abandoned rather than waited for.
            self.pool.shutdown(wait=not self.run.cancelled.is_set(), cancel_futures=True)
        for host, state in self.states.items():
            base = self.run.state(host)
            base.failed = base.failed or state.failed
            base.unreachable = base.unreachable or state.unreachable
        return succeeded

    def _approved(self) -> bool:
        """The play's ``approval:``, asked once before its first batch."""
        assert self.play.approval is not None
        variables = {
            **play_scope(self.pctx.play_vars, self.run.variables),
            "groups": self.run.inventory.groups_mapping(),
            "play_hosts": self.hosts,
        }
        decision = self.run.ask_approval(
            self.play.approval,
            key=self.play.uid,
            where=self.play.name,
            variables=variables,
            stop=self.run.control.unit_stop(),
        )
        if not decision.approved:
            self.run.rejected.append(self.play.name)
            self.pool.shutdown(wait=False)
        return decision.approved

    def _rollback(self, reason: str) -> None:
        """Undo what completed: each host's task rollbacks, newest first, then the play's own.

        ``reason``: ``failed``, or ``stopped`` (the run stopped before the play's end).
        """
        hosts = [h for h in self.hosts if self.states[h].ran and not self.states[h].unreachable]
        has_work = any(self.states[h].completed for h in hosts) or self.play.rollback
        if not hosts or not has_work:
            return
        self.run.bus.emit(
            "rollback_start", play=self.play.name, uid=self.play.uid, hosts=hosts, reason=reason
        )
        self.pctx.ending.clear()
        rollback_states = {h: self.states[h].for_play() for h in hosts}
        saved, self.states = self.states, {**self.states, **rollback_states}
        try:
            self._run_linear(
                hosts,
                lambda state: rollback_units(
                    self.play, saved[state.name].completed, state, self.settings
                ),
            )
        finally:
            self.states = saved
        self.run.bus.emit("rollback_end", play=self.play.name, uid=self.play.uid, hosts=hosts)

    def _set_magic(self, batch: list[str]) -> None:
        magic = self.pctx.magic
        magic.clear()
        active = [h for h in self.hosts if self.states[h].active]
        magic.update(magic_variables(self.run, self.play, self.hosts, batch, active))

    def _limits_passed(self, batch: list[str], *, final: bool = False) -> bool:
        """Whether failures end the play: max_fail_percentage (per batch), max_failures
        (hosts failed in the whole play), the play's timeout, or every host of the batch down."""
        if self.pctx.deadline is not None and time.monotonic() > self.pctx.deadline:
            self._time_out(batch)
            return True
        down = sum(1 for h in batch if self.states[h].failed or self.states[h].unreachable)
        if not down:
            return False
        limit = self.play.max_fail_percentage
        failed_in_play = sum(1 for s in self.states.values() if s.failed or s.unreachable)
        if (limit is not None and down * 100 / len(batch) > limit) or (
            self.play.max_failures is not None and failed_in_play > self.play.max_failures
        ):
            self.pctx.ending.set()
            self.pctx.aborted = True
            return True
        if final and down == len(batch):
            self.pctx.aborted = True  # Ansible: a batch that failed whole ends the run
            return True
        return False

    def _time_out(self, batch: list[str]) -> None:
        """The play's deadline passed: hosts still at work fail with status timeout."""
        self.pctx.ending.set()
        self.pctx.aborted = True
        for host in batch:
            state = self.states[host]
            if state.active:
                state.failed = True
                self.run.recap.count(host, "timeout")
                self.run.bus.emit(
                    "task_result",
                    host=host,
                    task=f"play timeout ({self.play.timeout})",
                    action="timeout",
                    uid=f"{self.play.uid}/timeout",
                    unit_id=f"{self.play.uid}/timeout#{host}",
                    handler=False,
                    status="timeout",
                    result={
                        "failed": True,
                        "timed_out": True,
                        "msg": f"the play timed out after {self.play.timeout}",
                    },
                    started=time.time(),
                    ended=time.time(),
                    attempts=1,
                )

    def _run_linear(self, batch: list[str], make_plan: Callable[[HostState], Plan]) -> None:
        plans: dict[str, Plan] = {}
        pending: dict[str, Unit] = {}
        for host in batch:
            state = self.states[host]
            if not state.active:
                continue
            plan = make_plan(state)
            unit = next(plan, None)
            if unit is not None:
                plans[host], pending[host] = plan, unit
        while pending and not self.run.cancelled.is_set():
            seq = min(unit.seq for unit in pending.values())
            hosts = [h for h in batch if h in pending and pending[h].seq == seq]
            groups: dict[int, list[str]] = {}
            for host in hosts:
                groups.setdefault(id(pending[host].task), []).append(host)
            for group in groups.values():
                unit = pending[group[0]]
                outcomes = self._run_group(unit, group, {h: pending[h] for h in group})
                if self.run.cancelled.is_set():
                    return
                self.run.flush()  # the round's results are durable before any host moves on
                for host in group:
                    self._advance(host, plans, pending, outcomes[host])
                self.pctx.magic["ansible_play_hosts"] = [
                    h for h in self.hosts if self.states[h].active
                ]
            if self.pctx.ending.is_set() or self._limits_passed(batch):
                self._end_all(batch, plans, pending)

    def _advance(
        self, host: str, plans: dict[str, Plan], pending: dict[str, Unit], outcome: UnitResult
    ) -> None:
        state = self.states[host]
        if outcome.meta_action == "end_host":
            state.ended = True
        elif outcome.meta_action == "end_play":
            self.pctx.ending.set()
        try:
            pending[host] = plans[host].send(outcome)
        except StopIteration:
            del pending[host]
            del plans[host]
        # Checked after the plan took the outcome: a failure that a rescue took over
        # (the plan cleared the flag) does not end the play.
        if self.play.any_errors_fatal and state.failed:
            self.pctx.ending.set()
            self.pctx.aborted = True

    def _end_all(self, batch: list[str], plans: dict[str, Plan], pending: dict[str, Unit]) -> None:
        for host in list(pending):
            plans[host].close()
            del pending[host]
        if self.play.any_errors_fatal:
            for host in batch:
                state = self.states[host]
                if state.active and any(self.states[h].failed for h in batch):
                    state.failed = True

    def _run_group(
        self, unit: Unit, hosts: list[str], units: Mapping[str, Unit]
    ) -> dict[str, UnitResult]:
        """Run one task on several hosts in parallel; ``run_once`` runs it on the first only."""
        task = unit.task
        self.run.bus.emit(
            "handler_start" if unit.handler else "task_start",
            play=self.play.name,
            task=task.name,
            action=task.action,
            uid=task.uid,
            location=str(task.location),
            hosts=len(hosts),
        )
        step = self.run.registry.steps.get(task.action)
        bypass = step is not None and step.bypass_host_loop and not task.run_once
        targets = hosts[:1] if task.run_once or bypass else hosts
        outcomes: dict[str, UnitResult] = {}
        outcomes.update(self._run_many(task, targets, units))
        if bypass:
            # Ran for the batch on its first host (add_host): the others move on with
            # that outcome, and nothing is reported, registered or counted for them.
            outcomes.update(dict.fromkeys(hosts[1:], outcomes[targets[0]]))
        elif task.run_once:
            # The first host's result stands for the batch: registered results and
            # facts it set reach every host, as in Ansible.
            first, outcome = self.states[targets[0]], outcomes[targets[0]]
            for host in hosts[1:]:
                state = self.states[host]
                if step is not None and step.once_per_batch:
                    # Reported and counted on this host too (an approval answers for each).
                    outcomes[host] = self.runner.share(state, task, outcome, units[host])
                    continue
                if task.register and task.register in first.host_vars:
                    state.host_vars[task.register] = first.host_vars[task.register]
                if outcome.status not in ("failed", "timeout", "unreachable"):
                    state.host_vars.update(outcome.set_vars)
                    state.facts.update(outcome.facts)
                elif outcome.status != "unreachable":
                    state.failed = True  # Ansible fails the whole batch with a run_once task
                outcomes[host] = outcome
        changes = [change for host in targets for change in outcomes[host].add_hosts]
        if changes and apply_add_hosts(self.run, changes):
            self.pctx.magic["groups"] = Verbatim(self.run.inventory.groups_mapping())
        return outcomes

    def _run_many(
        self, task: Task, targets: list[str], units: Mapping[str, Unit]
    ) -> dict[str, UnitResult]:
        """Run the task's unit on each target through the run's executor, as they end."""
        shared = self._may_share_a_thread(task)
        work = [self._work(host, units[host], shared) for host in targets]
        assert self.run.executor is not None
        return dict(self.run.executor.run_units(work))

    def _run_one(self, host: str, unit: Unit) -> UnitResult:
        return self._run_many(unit.task, [host], {host: unit})[host]

    def _work(self, host: str, unit: Unit, shared: bool) -> UnitWork:
        return UnitWork(
            host=host,
            task=unit.task,
            seq=unit.seq,
            include_vars=unit.include_vars,
            handler=unit.handler,
            cooperative=shared and self.run.cooperative_kind(self.states[host]),
            here=partial(self._execute, host, unit),
            play=self.pctx,
            state=self.states[host],
        )

    def _may_share_a_thread(self, task: Task) -> bool:
        """Whether the task's units may run on a hub (corral.cooperative), connection aside.

        Not with a throttle (a semaphore held across the unit's waits), a delegated
        task (units of several hosts share the delegate's connection) or a
        ``connection:`` keyword (the host's inventory no longer says which it is).
        """
        step = self.run.registry.steps.get(task.action)
        return (
            step is not None
            and step.cooperative
            and task.throttle is None
            and not task.delegate_to
            and task.connection is None
        )

    def _execute(self, host: str, unit: Unit) -> UnitResult:
        state = self.states[host]
        try:
            with self.throttles.slot(unit.task):
                return self.runner.execute(
                    state, unit.task, unit.include_vars, seq=unit.seq, handler=unit.handler
                )
        except CorralError as exc:
            # execute() turns host problems into results; what is left (a bad throttle)
            # fails the unit on this host only, reported and counted like any failure.
            return self.runner.fail(state, unit, str(exc))

    def _run_free(self, batch: list[str]) -> None:
        started: set[str] = set()
        # add_host/group_by: applied when every host is done, as hosts run at their own
        # pace and read the inventory meanwhile (so later plays see them, later tasks not).
        added: list[AddHost] = []

        def drive(host: str) -> None:
            state = self.states[host]
            plan = host_units(self.play, state, self.settings)
            try:
                unit = next(plan)
                while not self.run.cancelled.is_set() and not self.pctx.ending.is_set():
                    if unit.task.uid not in started:
                        started.add(unit.task.uid)
                        self.run.bus.emit(
                            "task_start",
                            play=self.play.name,
                            task=unit.task.name,
                            action=unit.task.action,
                            uid=unit.task.uid,
                            location=str(unit.task.location),
                            hosts=len(batch),
                        )
                    outcome = self._run_one(host, unit)
                    self.run.flush()
                    added.extend(outcome.add_hosts)
                    if outcome.meta_action == "end_host":
                        state.ended = True
                    unit = plan.send(outcome)
            except StopIteration:
                pass

        futures = [self.pool.submit(drive, h) for h in batch if self.states[h].active]
        for future in futures:
            future.result()
        if added:
            apply_add_hosts(self.run, added)
