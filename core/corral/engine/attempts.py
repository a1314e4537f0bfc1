"""Run a task's step for one item: check mode, attempts, retries, ``changed_when``, ``failed_when``.

Every problem (a step error, an unreachable host, a step that crashed) becomes
an :class:`ItemResult`; nothing here raises for a host's failure.
"""

from __future__ import annotations

import concurrent.futures
import threading
import time
import traceback
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from corral import cooperative
from corral.engine.asyncjob import AsyncStarted, async_task, started_result
from corral.engine.context import PlayContext
from corral.engine.hosts import HostState
from corral.engine.results import ItemResult
from corral.engine.retry import policy_for
from corral.engine.stepcontext import ContextBuilder, flag
from corral.engine.variables import verbatim
from corral.errors import HostUnreachable, PlaybookError, StepFailed, TemplateError
from corral.playbook.args import check_args, convert_args
from corral.playbook.model import Task
from corral.playbook.templating.environment import Verbatim
from corral.steps import StepContext, StepResult, StepType

if TYPE_CHECKING:
    from corral.playbook.templating.templar import Templar

# Steps get their timeout through ctx.timeout and stop their commands; this slack
# covers a step that does not, before the engine gives up waiting for it.
TIMEOUT_SLACK = 2.0


class ItemRunner:
    """Runs one item of a task on a host, with its retries; shared by all worker threads."""

    def __init__(self, pctx: PlayContext) -> None:
        self.run = pctx.run
        self.templar = pctx.run.templar
        self.contexts = ContextBuilder(pctx)
        self._role_templars: dict[tuple[Path, ...], Templar] = {}

    def _role_templar(self, task: Task) -> Templar:
        """A templar whose ``lookup('file')`` looks in the task's role first, as Ansible's."""
        assert task.role is not None
        roles = (task.role, *task.role.parents)
        key = tuple(r.path for r in roles)
        found = self._role_templars.get(key)
        if found is None:
            base = self.run.playbook.base_dir.resolve()
            paths = [p for r in roles for p in (r.path / "files", r.path / "templates", r.path)]
            found = self.templar.with_search_paths([*paths, base / "files", base])
            self._role_templars[key] = found
        return found

    def run_item(self, state: HostState, task: Task, variables: dict[str, Any]) -> ItemResult:
        """Render the arguments, run the step until it succeeds or its attempts run out."""
        step = self.run.registry.steps[task.action]
        what = f"task {task.name!r}"
        templar = self.templar if task.role is None else self._role_templar(task)
        args = (
            templar.render(task.args, variables, location=task.location, what=what)
            if task.templated_args
            else dict(task.args)
        )
        if task.templated_args:
            # Rendered values are converted to the declared types, as Ansible does
            # ("{{ port }}" from -e port=80 is a string), then checked.
            args = convert_args(step, args, task.location, rendered=True)
            check_args(step, args, task.location, rendered=True)
        check_mode = (
            self.run.options.check
            if task.check_mode is None
            else flag(self.templar, task.check_mode, variables)
        )
        if check_mode and not step.check_mode:
            message = f"step {step.name!r} does not support check mode"
            return ItemResult(StepResult(msg=message), kind="unsupported")
        policy = policy_for(
            task.retry,
            until=bool(task.until),
            retries=task.retries,
            delay=task.delay,
            render=lambda value: self.templar.render(value, variables),
        )
        result = ItemResult()
        reason: str | None = None
        attempt = 0
        for attempt in range(1, policy.attempts + 1):
            result = self._attempt(state, task, step, args, variables, check_mode)
            reason = failure_reason(result.registered)
            if task.until:
                if reason != "unreachable":
                    shape = result.registered
                    check_vars = (
                        {**variables, task.register: Verbatim(shape)}
                        if task.register
                        else variables
                    )
                    if self.templar.evaluate_condition(
                        list(task.until), check_vars, location=task.location, what=what
                    ):
                        result = replace(result, until_met=True)
                        reason = None
                        break
                reason = reason or "failed"
            elif reason is None or not policy.retries_on(reason):
                break
            if attempt == policy.attempts:
                break
            wait = policy.wait_before(attempt)
            self.run.bus.emit(
                "retry",
                host=state.name,
                task=task.name,
                uid=task.uid,
                attempt=attempt,
                attempts=policy.attempts,
                retries=policy.attempts - 1,
                reason=reason,
                delay=round(wait, 3),
                msg=str(result.registered.get("msg", "")),
            )
            if reason == "unreachable":
                self.run.reset_connection(self.contexts.target_name(state, task, variables))
            if cooperative.wait_event(self.run.stopping, wait):
                break
        if policy.attempts == 1 and not task.until:
            return result  # the usual case: one attempt, nothing to add
        return replace(
            result,
            attempts=attempt,
            counted=policy.attempts > 1,
            until_met=False if task.until and reason is not None else result.until_met,
        )

    def _attempt(
        self,
        state: HostState,
        task: Task,
        step: StepType,
        args: Mapping[str, Any],
        variables: dict[str, Any],
        check_mode: bool,
    ) -> ItemResult:
        try:
            ctx = self.contexts.context(state, task, step, variables, check_mode)
            background = async_task(self.templar, task, variables)
            if background is not None:
                background.prepare(ctx)
            outcome = _call_step(step, ctx, args)
            if not isinstance(outcome, StepResult):
                raise StepFailed(
                    f"step {step.name!r} returned {type(outcome).__name__}, not a StepResult"
                )
            if background is not None:
                outcome = background.finish(outcome)
                if background.poll == 0 and not check_mode:
                    self.run.bus.warn(
                        f"task {task.name!r}: poll is 0 but step {step.name!r} started no "
                        "background job: it ran to the end (only steps that run a command "
                        "on the host run in the background)"
                    )
            result = ItemResult(outcome)
        except AsyncStarted as started:
            result = ItemResult(started_result(started.job))
        except HostUnreachable as exc:
            return ItemResult(StepResult(msg=str(exc)), kind="unreachable")
        except (TemplateError, PlaybookError, StepFailed) as exc:
            result = ItemResult(StepResult(failed=True, msg=str(exc)), kind="error", hint=exc.hint)
        except Exception as exc:
            result = ItemResult(
                StepResult(
                    failed=True, msg=f"step {step.name!r} crashed: {type(exc).__name__}: {exc}"
                ),
                kind="error",
                exception=traceback.format_exc(),
            )
        if task.delegate_to:
            target = self.contexts.target_name(state, task, variables)
            if target != state.name:
                result = replace(result, delegated_to=target)
        return self._judge(task, result, variables)

    def _judge(self, task: Task, result: ItemResult, variables: dict[str, Any]) -> ItemResult:
        """Apply ``changed_when`` and ``failed_when`` (they see the result by its register name)."""
        if task.changed_when is None and task.failed_when is None:
            return result
        shape = result.registered
        check_vars = {**variables, **verbatim(shape)}
        if task.register:
            check_vars[task.register] = Verbatim(shape)
        what = f"task {task.name!r}"
        changed = failed = None
        if task.changed_when is not None:
            changed = self.templar.evaluate_condition(
                list(task.changed_when), check_vars, location=task.location, what=what
            )
        if task.failed_when is not None:
            failed = self.templar.evaluate_condition(
                list(task.failed_when), check_vars, location=task.location, what=what
            )
        return replace(result, changed_when=changed, failed_when=failed)


def failure_reason(result: Mapping[str, Any]) -> str | None:
    """Why a unit did not succeed, in the words of ``retry.on``; None when it did."""
    if result.get("unreachable"):
        return "unreachable"
    if result.get("timed_out") and result.get("failed"):
        return "timeout"
    if result.get("failed"):
        return "failed"
    return None


def _call_step(step: StepType, ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Run the step, giving up (and signalling it to stop) when its timeout has passed."""
    if ctx.timeout is None:
        return step.run(ctx, args)
    unit_cancelled = threading.Event()
    run_cancelled = ctx.cancelled
    ctx.cancelled = unit_cancelled
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="corral-step")
    future = pool.submit(step.run, ctx, args)
    # Waited for through an event: on the hub, the other hosts' units run meanwhile.
    done = threading.Event()
    future.add_done_callback(lambda _: done.set())
    try:
        deadline = time.monotonic() + ctx.timeout + TIMEOUT_SLACK
        while True:
            if cooperative.wait_event(done, 0.2):
                return future.result()
            if run_cancelled.is_set():
                unit_cancelled.set()
            if time.monotonic() > deadline:
                unit_cancelled.set()
                return StepResult(
                    failed=True, timed_out=True, msg=f"timed out after {ctx.timeout:g} seconds"
                )
    finally:
        pool.shutdown(wait=False)
