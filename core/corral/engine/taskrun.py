"""Run one task on one host: ``when``, loops, ``register``, facts, handlers, events.

Nothing here raises for a host's failure: every problem (an undefined
variable, a step error, an unreachable host) becomes a result with
``failed`` or ``unreachable`` set, so the other hosts go on. One item's
attempts are in :mod:`corral.engine.attempts`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import replace
from typing import Any

from corral import cooperative
from corral.engine.attempts import ItemRunner
from corral.engine.context import PlayContext
from corral.engine.hosts import HostState
from corral.engine.loops import item_variables, loop_items, loop_result_extra
from corral.engine.plan import Unit
from corral.engine.results import NO_LOG_MESSAGE, ItemResult, UnitResult, status_of, unit_shape
from corral.engine.resume import unit_id
from corral.engine.retry import parse_duration
from corral.engine.stepcontext import flag
from corral.engine.variables import task_variables, verbatim
from corral.errors import CorralError, TemplateError
from corral.playbook.handlers import missing_handler, unknown_notified
from corral.playbook.keyword_values import as_tuple
from corral.playbook.model import Task
from corral.playbook.templating.environment import Verbatim
from corral.secrets import REDACTED
from corral.steps import StepResult

META_STEP = "meta"
INTERRUPTED = "interrupted: still running when the run was stopped, and killed"
SET_FACT_STEP = "set_fact"


def censored(result: Mapping[str, Any]) -> dict[str, Any]:
    """What a ``no_log`` task's result shows, as Ansible shows it."""
    return {"censored": NO_LOG_MESSAGE, "changed": result.get("changed", False)}


class TaskRunner:
    """Executes tasks on hosts for one play; shared by all worker threads."""

    def __init__(self, pctx: PlayContext) -> None:
        self.pctx = pctx
        self.run = pctx.run
        self.templar = pctx.run.templar
        self.items = ItemRunner(pctx)

    # -- the unit ----------------------------------------------------------

    def execute(
        self,
        state: HostState,
        task: Task,
        include_vars: Mapping[str, Any],
        *,
        seq: tuple[int, ...] = (),
        handler: bool = False,
    ) -> UnitResult:
        """Run ``task`` on the host and emit its result; returns the unit's result."""
        uid = unit_id(task.uid, seq, state.name)
        done = self._done(uid)
        variables = task_variables(
            state,
            self.run.variables,
            play_vars=self.pctx.play_vars,
            task_vars=task.vars,
            include_vars=include_vars,
            magic=self.pctx.magic,
            task=task,
            role_defaults=self.pctx.play.role_defaults,
            remote_user=self.run.play_user(state.name, self.pctx.play.remote_user),
        )
        if done is not None:
            return self._replay(state, task, uid, done, handler, variables)
        started = time.time()
        items: tuple[ItemResult, ...] = ()
        error: str | None = None
        looped_items: tuple[ItemResult, ...] | None = None
        try:
            looped_items = (
                self._run_loop(state, task, variables, uid) if task.loop is not None else None
            )
            if looped_items is not None:
                items = looped_items
            elif not self._when(task, variables):
                items = (ItemResult(kind="skipped"),)
            else:
                items = (self.items.run_item(state, task, variables),)
        except CorralError as exc:
            error = str(exc)
        looped = task.loop is not None and error is None and looped_items is not None
        shape = unit_shape(items, looped=looped, error=error)
        ignore = self._flag(task.ignore_errors, variables)
        status = status_of(shape, ignore)
        if status in ("failed", "timeout") and not self._flag(task.critical, variables):
            status = "ignored"
            self.run.bus.warn(
                f"task {task.name!r} failed on {state.name} (critical: false): "
                f"{shape.get('msg', '')}"
            )
        if status == "unreachable" and self._flag(task.ignore_unreachable, variables):
            status = "skipped"
        if self.run.control.was_running(started):
            # Still running when it was killed (grace period over, abort), whatever it returned.
            status = "interrupted"
            shape = {**shape, "failed": True, "interrupted": True, "msg": INTERRUPTED}
        notified: tuple[str, ...] = ()
        if status == "changed" and task.notify:
            try:
                notified = self._notified(task, variables)
            except CorralError as exc:
                # Ansible stops here too: a handler that does not exist is never "run later".
                status, shape = "failed", {**shape, "failed": True, "msg": exc.message}
        unit = UnitResult(
            status=status,
            registered=shape,
            items=items if error is None else (),
            looped=looped,
            started=started,
            ended=time.time(),
        )
        state.ran = True
        hidden = self._flag(task.no_log, variables)
        self._apply(state, task, unit, hidden=hidden)
        state.notified.update(notified)
        self._report(state, task, uid, unit, censored(shape) if hidden else shape, handler)
        return unit

    def _notified(self, task: Task, variables: Mapping[str, Any]) -> tuple[str, ...]:
        """The handler names a changed task notifies, rendered; each must reach a handler."""
        names = tuple(
            str(self.templar.render(name, variables, location=task.location, what="notify"))
            if "{{" in name or "{%" in name
            else name
            for name in task.notify
        )
        missing = unknown_notified(names, self.pctx.play.handlers)
        if missing:
            raise CorralError(missing_handler(missing[0]), location=task.location)
        return names

    def share(self, state: HostState, task: Task, unit: UnitResult, at: Unit) -> UnitResult:
        """Give another host of the batch the result of a task that ran once for all.

        ``at`` is the host's :class:`~corral.engine.plan.Unit` (its position in the play).
        """
        uid = unit_id(task.uid, at.seq, state.name)
        state.ran = True
        self._apply(state, task, unit, hidden=False)
        shown = censored(unit.registered) if task.no_log is True else unit.registered
        self._report(state, task, uid, unit, shown, at.handler)
        return unit

    def fail(self, state: HostState, at: Unit, msg: str) -> UnitResult:
        """Fail the unit ``at`` on the host without running it, as a task failure."""
        now = time.time()
        unit = UnitResult(
            status="failed", registered={"failed": True, "msg": msg}, started=now, ended=now
        )
        state.ran = True
        self._apply(state, at.task, unit, hidden=False)
        uid = unit_id(at.task.uid, at.seq, state.name)
        self._report(state, at.task, uid, unit, unit.registered, at.handler)
        return unit

    def _done(self, uid: str) -> Mapping[str, Any] | None:
        resume = self.run.options.resume
        return None if resume is None else resume.done.get(uid)

    def _replay(
        self,
        state: HostState,
        task: Task,
        uid: str,
        done: Mapping[str, Any],
        handler: bool,
        variables: Mapping[str, Any],
    ) -> UnitResult:
        """A unit the interrupted run finished: report it again, do not run it again."""
        now = time.time()
        unit = UnitResult(
            status=done.get("status", "ok"),
            registered=dict(done.get("result") or {}),
            resumed=True,
            started=now,
            ended=now,
        )
        if unit.status == "changed" and task.notify:
            with suppress(CorralError):  # then the interrupted run failed the unit
                state.notified.update(self._notified(task, variables))
        if task.rollback:
            state.completed.append(task)  # a resumed run that fails undoes it too
        self._report(state, task, uid, unit, unit.registered, handler)
        return unit

    def _report(
        self,
        state: HostState,
        task: Task,
        uid: str,
        unit: UnitResult,
        shown: Mapping[str, Any],
        handler: bool,
    ) -> None:
        """Count the unit in the recap and emit its ``task_result`` (and ``host_state``)."""
        if self.run.registry.steps[task.action].name != META_STEP:
            # Ansible leaves meta tasks (flush_handlers, end_host...) out of the recap.
            self.run.recap.count(state.name, unit.status, changed=bool(shown.get("changed")))
        extra: dict[str, Any] = {"resumed": True, "attempts": 0} if unit.resumed else {}
        self.run.bus.emit(
            "task_result",
            host=state.name,
            task=task.name,
            action=task.action,
            uid=task.uid,
            unit_id=uid,
            handler=handler,
            status=unit.status,
            result=shown,
            started=unit.started,
            ended=unit.ended,
            **{"attempts": shown.get("attempts", 1), **extra},
        )
        if not unit.resumed and (
            task.register or task.action.rsplit(".", 1)[-1] in (SET_FACT_STEP, "setup")
        ):
            # The run store keeps each host's variables so a resumed run can restore them;
            # not what no_log tasks registered or set, which no event shows.
            kept = state.host_vars
            if state.hidden_vars:
                kept = {k: REDACTED if k in state.hidden_vars else v for k, v in kept.items()}
            self.run.bus.emit("host_state", host=state.name, vars=kept, facts=state.facts)

    def _apply(self, state: HostState, task: Task, unit: UnitResult, *, hidden: bool) -> None:
        """Record what the result changes on the host: register, facts, handlers, failure.

        ``hidden`` (``no_log``): the variables the task registers or sets are kept out
        of the run store.
        """
        status = unit.status
        names: list[str] = []
        if task.register:
            state.host_vars[task.register] = unit.registered
            names.append(task.register)
        if status not in ("failed", "unreachable", "skipped"):
            facts, set_vars = unit.facts, unit.set_vars
            if facts:
                state.facts.update(facts)
            if set_vars:
                state.host_vars.update(set_vars)
                names.extend(set_vars)
        if hidden:
            state.hidden_vars.update(names)
        elif state.hidden_vars:
            state.hidden_vars.difference_update(names)
        if status in ("failed", "timeout", "interrupted"):
            state.failed = True
            # What a rescue section sees as ansible_failed_task / ansible_failed_result.
            state.last_failure = (task, unit.registered)
        elif status == "unreachable":
            state.unreachable = True
        elif task.rollback and status in ("ok", "changed"):
            state.completed.append(task)

    # -- loops -------------------------------------------------------------

    def _run_loop(
        self, state: HostState, task: Task, variables: dict[str, Any], uid: str
    ) -> tuple[ItemResult, ...] | None:
        """Each item's result; None when the loop could not be rendered and ``when`` skips."""
        try:
            items = self._loop_items(task, variables)
        except TemplateError as loop_error:
            # As Ansible: a loop over what is not defined is no error when ``when``
            # (without the item) skips the task anyway. A ``when`` that needs the item
            # cannot say: the loop's own error is the one to report.
            try:
                skips = bool(task.when) and not self._when(task, variables)
            except TemplateError:
                raise loop_error from None
            if skips:
                return None
            raise
        control = task.loop_control
        loop_var = str(control.get("loop_var", "item"))
        extended = self._flag(control.get("extended", False), variables)
        allitems = self._flag(control.get("extended_allitems", True), variables)
        pause = parse_duration(self.templar.render(control.get("pause"), variables)) or 0.0
        results: list[ItemResult] = []
        for index, item in enumerate(items):
            item_uid = f"{uid}/{index}"
            done = self._done(item_uid)
            if done is not None:
                results.append(self._stored_item(task, done))
                continue
            started = time.time()
            item_vars = {**variables, **item_variables(control, items, index, extended, allitems)}
            ran = (
                self.items.run_item(state, task, item_vars)
                if self._when(task, item_vars)
                else ItemResult(kind="skipped")
            )
            result = replace(
                ran, loop_var=loop_var, item=item, loop_extra=loop_result_extra(item_vars)
            )
            shape = result.registered
            if result.set_vars and not shape.get("failed"):
                # Each item sees the facts the items before it set, as in Ansible.
                state.host_vars.update(result.set_vars)
                variables.update(verbatim(result.set_vars))
            hidden = self._flag(task.no_log, item_vars)
            if hidden:
                # As Ansible's ``(item=None)``: with no_log, not even the item is shown.
                label: Any = REDACTED
            elif "label" in control:
                # As Ansible, the label sees this item's result by its register name.
                seen = {**item_vars, task.register: Verbatim(shape)} if task.register else item_vars
                label = self.templar.render(control["label"], seen)
            else:
                label = item
            self.run.bus.emit(
                "item_result",
                host=state.name,
                task=task.name,
                action=task.action,
                uid=task.uid,
                unit_id=item_uid,
                item=label,
                item_index=index,
                status=status_of(shape, self._flag(task.ignore_errors, item_vars)),
                result=censored(shape) if hidden else shape,
                started=started,
                ended=time.time(),
                attempts=shape.get("attempts", 1),
            )
            results.append(result)
            if self._breaks(task, item_vars, shape):
                break
            if pause and index < len(items) - 1:
                cooperative.sleep(pause)
        return tuple(results)

    def _breaks(self, task: Task, item_vars: Mapping[str, Any], shape: Mapping[str, Any]) -> bool:
        """``loop_control.break_when``: stop the loop after this item (it sees the register)."""
        conditions = task.loop_control.get("break_when")
        if not conditions:
            return False
        check_vars = {**item_vars, task.register: Verbatim(shape)} if task.register else item_vars
        return self.templar.evaluate_condition(
            list(as_tuple(conditions)), check_vars, location=task.location
        )

    @staticmethod
    def _stored_item(task: Task, done: Mapping[str, Any]) -> ItemResult:
        """An item the interrupted run finished; what it set comes back with it."""
        stored = dict(done.get("result") or {})
        found = stored.get("ansible_facts")
        step = StepResult()
        if isinstance(found, Mapping) and found:
            # ``ansible_facts`` holds what set_fact set, or what setup found (Ansible's shape).
            if task.action.rsplit(".", 1)[-1] == SET_FACT_STEP:
                step = StepResult(set_vars=dict(found))
            else:
                step = StepResult(facts=dict(found))
        return ItemResult(step, kind="stored", stored=stored)

    def _loop_items(self, task: Task, variables: Mapping[str, Any]) -> list[Any]:
        return loop_items(
            self.templar,
            task.loop_kind,
            task.loop,
            variables,
            search_paths=self.items.contexts.search_paths(task),
            action=task.action,
            location=task.location,
            what=f"task {task.name!r}",
        )

    # -- one item ----------------------------------------------------------

    def _when(self, task: Task, variables: Mapping[str, Any]) -> bool:
        if not task.when:
            return True
        return self.templar.evaluate_condition(
            list(task.when), variables, location=task.location, what=f"task {task.name!r}"
        )

    def _flag(self, value: Any, variables: Mapping[str, Any]) -> bool:
        return flag(self.templar, value, variables)
