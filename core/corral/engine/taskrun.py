"""Run one task on one host: ``when``, loops, rendering, retries, ``failed_when``, ``register``.

Nothing here raises for a host's failure: every problem (an undefined
variable, a step error, an unreachable host) becomes a result with
``failed`` or ``unreachable`` set, so the other hosts go on.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from corral.connection import Become, Connection
from corral.engine.context import PlayContext
from corral.engine.hosts import HostState, task_variables, verbatim
from corral.engine.results import NO_LOG_MESSAGE, UnitOutcome, status_of
from corral.engine.resume import unit_id
from corral.engine.retry import parse_duration, policy_for
from corral.errors import CorralError, HostUnreachable, PlaybookError, StepFailed, TemplateError
from corral.playbook.args import check_args
from corral.playbook.model import Task
from corral.playbook.templating.environment import Verbatim
from corral.secrets import Secret
from corral.steps import StepContext, StepResult, StepType

META_STEP = "meta"


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("yes", "true", "on", "1", "y")
    return bool(value)


class TaskRunner:
    """Executes tasks on hosts for one play; shared by all worker threads."""

    def __init__(self, pctx: PlayContext) -> None:
        self.pctx = pctx
        self.run = pctx.run
        self.templar = pctx.run.templar
        self._paths: dict[str, tuple[Path, ...]] = {}

    # -- the unit ----------------------------------------------------------

    def execute(
        self,
        state: HostState,
        task: Task,
        extra_vars: Mapping[str, Any],
        *,
        seq: tuple[int, ...] = (),
        handler: bool = False,
    ) -> UnitOutcome:
        """Run ``task`` on the host and emit its result; returns the outcome."""
        uid = unit_id(task.uid, seq, state.name)
        done = self._done(uid)
        if done is not None:
            return self._replay(state, task, uid, done, handler)
        variables = task_variables(
            state,
            play_vars=self.pctx.play_vars,
            task_vars={**task.vars, **extra_vars} if extra_vars else task.vars,
            extra_vars=self.run.options.extra_vars,
            magic=self.pctx.magic,
        )
        started = time.time()
        try:
            if task.loop is None:
                if not self._when(task, variables):
                    result: dict[str, Any] = {
                        "changed": False,
                        "skipped": True,
                        "skip_reason": "Conditional result was False",
                    }
                else:
                    result = self._run_item(state, task, variables)
            else:
                result = self._run_loop(state, task, variables, uid)
        except CorralError as exc:
            result = {"failed": True, "changed": False, "msg": str(exc)}
        ignore = self._flag(task.ignore_errors, variables)
        status = status_of(result, ignore)
        if status in ("failed", "timeout") and not self._flag(task.critical, variables):
            status = "ignored"
            self.run.bus.warn(
                f"task {task.name!r} failed on {state.name} (critical: false): "
                f"{result.get('msg', '')}"
            )
        if status == "unreachable" and self._flag(task.ignore_unreachable, variables):
            status = "skipped"
        meta = result.pop("_meta", None)
        set_vars, facts = result.get("_set_vars"), result.get("_facts")
        state.ran = True
        self._apply(state, task, result, status)
        if status in ("failed", "timeout"):
            # What a rescue section sees as ansible_failed_task / ansible_failed_result.
            state.last_failure = (task, result)
        self._report(
            state, task, uid, status, self._shown(task, result, variables), handler, started
        )
        return UnitOutcome(status=status, result=result, meta=meta, set_vars=set_vars, facts=facts)

    def _done(self, uid: str) -> Mapping[str, Any] | None:
        resume = self.run.options.resume
        return None if resume is None else resume.done.get(uid)

    def _replay(
        self, state: HostState, task: Task, uid: str, done: Mapping[str, Any], handler: bool
    ) -> UnitOutcome:
        """A unit the interrupted run finished: report it again, do not run it again."""
        result = dict(done.get("result") or {})
        status = done.get("status", "ok")
        if status == "changed" and task.notify:
            state.notified.update(task.notify)
        self._report(state, task, uid, status, result, handler, time.time(), resumed=True)
        return UnitOutcome(status=status, result=result)

    def _report(
        self,
        state: HostState,
        task: Task,
        uid: str,
        status: str,
        shown: Mapping[str, Any],
        handler: bool,
        started: float,
        *,
        resumed: bool = False,
    ) -> None:
        """Count the unit in the recap and emit its ``task_result`` (and ``host_state``)."""
        if self.run.registry.steps[task.action].name != META_STEP:
            # Ansible leaves meta tasks (flush_handlers, end_host...) out of the recap.
            self.run.recap.count(state.name, status, changed=bool(shown.get("changed")))  # type: ignore[arg-type]
        extra: dict[str, Any] = {"resumed": True, "attempts": 0} if resumed else {}
        self.run.bus.emit(
            "task_result",
            host=state.name,
            task=task.name,
            action=task.action,
            uid=task.uid,
            unit_id=uid,
            handler=handler,
            status=status,
            result=shown,
            started=started,
            ended=time.time(),
            **{"attempts": shown.get("attempts", 1), **extra},
        )
        if not resumed and (
            task.register or task.action.rsplit(".", 1)[-1] in ("set_fact", "setup")
        ):
            # The run store keeps each host's variables so a resumed run can restore them.
            self.run.bus.emit(
                "host_state", host=state.name, vars=state.host_vars, facts=state.facts
            )

    def _apply(self, state: HostState, task: Task, result: dict[str, Any], status: str) -> None:
        """Record what the result changes on the host: register, facts, handlers, failure."""
        if task.register:
            state.host_vars[task.register] = result
        facts = result.pop("_facts", None)
        set_vars = result.pop("_set_vars", None)
        if status not in ("failed", "unreachable", "skipped"):
            if facts:
                state.facts.update(facts)
            if set_vars:
                state.host_vars.update(set_vars)
        if status == "changed" and task.notify:
            state.notified.update(task.notify)
        if status in ("failed", "timeout"):
            state.failed = True
        elif status == "unreachable":
            state.unreachable = True
        elif task.rollback and status in ("ok", "changed"):
            state.completed.append(task)

    def _shown(
        self, task: Task, result: dict[str, Any], variables: Mapping[str, Any]
    ) -> dict[str, Any]:
        if self._flag(task.no_log, variables):
            return {"censored": NO_LOG_MESSAGE, "changed": result.get("changed", False)}
        return result

    # -- loops -------------------------------------------------------------

    def _run_loop(
        self, state: HostState, task: Task, variables: dict[str, Any], uid: str
    ) -> dict[str, Any]:
        items = self._loop_items(task, variables)
        control = task.loop_control
        loop_var = str(control.get("loop_var", "item"))
        index_var = control.get("index_var")
        pause = parse_duration(control.get("pause")) or 0.0
        results: list[dict[str, Any]] = []
        for index, item in enumerate(items):
            item_uid = f"{uid}/{index}"
            done = self._done(item_uid)
            if done is not None:
                results.append(dict(done.get("result") or {}))
                continue
            started = time.time()
            item_vars = {**variables, loop_var: Verbatim(item)}
            if index_var:
                item_vars[str(index_var)] = index
            if control.get("extended"):
                item_vars["ansible_loop"] = {
                    "index": index + 1,
                    "index0": index,
                    "first": index == 0,
                    "last": index == len(items) - 1,
                    "length": len(items),
                }
            if not self._when(task, item_vars):
                item_result: dict[str, Any] = {
                    "changed": False,
                    "skipped": True,
                    "skip_reason": "Conditional result was False",
                }
            else:
                item_result = self._run_item(state, task, item_vars)
            item_result[loop_var] = item
            item_result["ansible_loop_var"] = loop_var
            if item_result.get("_set_vars") and not item_result.get("failed"):
                # Each item sees the facts the items before it set, as in Ansible.
                state.host_vars.update(item_result["_set_vars"])
                variables.update(verbatim(item_result["_set_vars"]))
            label = self.templar.render(control["label"], item_vars) if "label" in control else item
            self.run.bus.emit(
                "item_result",
                host=state.name,
                task=task.name,
                action=task.action,
                uid=task.uid,
                unit_id=item_uid,
                item=label,
                item_index=index,
                status=status_of(item_result, self._flag(task.ignore_errors, item_vars)),
                result=self._shown(task, item_result, item_vars),
                started=started,
                ended=time.time(),
                attempts=item_result.get("attempts", 1),
            )
            results.append(item_result)
            if pause and index < len(items) - 1:
                time.sleep(pause)
        return self._aggregate(results)

    def _loop_items(self, task: Task, variables: Mapping[str, Any]) -> list[Any]:
        value = self.templar.render(
            task.loop, variables, location=task.location, what=f"task {task.name!r}"
        )
        if task.loop_kind == "with_dict":
            if not isinstance(value, Mapping):
                raise TemplateError(
                    f"with_dict expects a mapping, got {type(value).__name__}",
                    location=task.location,
                )
            return [{"key": k, "value": v} for k, v in value.items()]
        if isinstance(value, str) or not isinstance(value, list | tuple):
            raise TemplateError(
                f"invalid data passed to '{task.loop_kind or 'loop'}': it requires a list, "
                f"got {type(value).__name__}",
                hint="use '| dict2items' for a mapping, or '| list' / '.split()' to build a list",
                location=task.location,
            )
        if task.loop_kind == "with_items":
            flat: list[Any] = []
            for item in value:
                flat.extend(item if isinstance(item, list) else [item])
            return flat
        return list(value)

    @staticmethod
    def _aggregate(results: list[dict[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "changed": any(r.get("changed") for r in results),
            "results": results,
            "msg": "All items completed",
        }
        if any(r.get("failed") for r in results):
            out["failed"] = True
            out["msg"] = "One or more items failed"
        if any(r.get("unreachable") for r in results):
            out["unreachable"] = True
        if results and all(r.get("skipped") for r in results):
            out["skipped"] = True
            out["msg"] = "All items skipped"
        for key in ("_facts", "_set_vars"):
            merged: dict[str, Any] = {}
            for r in results:
                merged.update(r.pop(key, None) or {})
            if merged:
                out[key] = merged
        return out

    # -- one item ----------------------------------------------------------

    def _when(self, task: Task, variables: Mapping[str, Any]) -> bool:
        if not task.when:
            return True
        return self.templar.evaluate_condition(
            list(task.when), variables, location=task.location, what=f"task {task.name!r}"
        )

    def _flag(self, value: Any, variables: Mapping[str, Any]) -> bool:
        if isinstance(value, str):
            value = self.templar.render(value, variables)
        return _truthy(value)

    def _run_item(self, state: HostState, task: Task, variables: dict[str, Any]) -> dict[str, Any]:
        step = self.run.registry.steps[task.action]
        what = f"task {task.name!r}"
        args = (
            self.templar.render(task.args, variables, location=task.location, what=what)
            if task.templated_args
            else dict(task.args)
        )
        if task.templated_args:
            check_args(step, args, task.location, rendered=True)
        check_mode = (
            self.run.options.check
            if task.check_mode is None
            else self._flag(task.check_mode, variables)
        )
        if check_mode and not step.check_mode:
            return {
                "changed": False,
                "skipped": True,
                "msg": f"step {step.name!r} does not support check mode",
            }
        policy = policy_for(
            task.retry,
            until=bool(task.until),
            retries=task.retries,
            delay=task.delay,
            render=lambda value: self.templar.render(value, variables),
        )
        result: dict[str, Any] = {}
        for attempt in range(1, policy.attempts + 1):
            result = self._attempt(state, task, step, args, variables, check_mode)
            reason = _failure_reason(result)
            if task.until:
                if reason != "unreachable":
                    check_vars = (
                        {**variables, task.register: Verbatim(result)}
                        if task.register
                        else variables
                    )
                    if self.templar.evaluate_condition(
                        list(task.until), check_vars, location=task.location, what=what
                    ):
                        result.pop("failed", None)
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
                msg=str(result.get("msg", "")),
            )
            if reason == "unreachable":
                self.run.reset_connection(self._target_name(state, task, variables))
            if self.run.stopping.wait(wait):
                break
        if policy.attempts > 1:
            result["attempts"] = attempt
        if task.until and reason is not None:
            result["failed"] = True
            result.setdefault("msg", f"condition not met after {attempt} attempts")
        return result

    def _attempt(
        self,
        state: HostState,
        task: Task,
        step: StepType,
        args: Mapping[str, Any],
        variables: dict[str, Any],
        check_mode: bool,
    ) -> dict[str, Any]:
        try:
            ctx = self._context(state, task, step, variables, check_mode)
            outcome = _call_step(step, ctx, args)
            if not isinstance(outcome, StepResult):
                raise StepFailed(
                    f"step {step.name!r} returned {type(outcome).__name__}, not a StepResult"
                )
            result = outcome.as_dict()
            if outcome.facts:
                result["_facts"] = outcome.facts
            if outcome.set_vars is not None:
                result["_set_vars"] = outcome.set_vars
        except HostUnreachable as exc:
            return {"unreachable": True, "changed": False, "msg": str(exc)}
        except (TemplateError, PlaybookError, StepFailed) as exc:
            result = {"failed": True, "changed": False, "msg": str(exc)}
            if exc.hint:
                result["hint"] = exc.hint
        except Exception as exc:
            result = {
                "failed": True,
                "changed": False,
                "msg": f"step {step.name!r} crashed: {type(exc).__name__}: {exc}",
                "exception": traceback.format_exc(),
            }
        self._judge(task, result, variables)
        return result

    def _judge(self, task: Task, result: dict[str, Any], variables: dict[str, Any]) -> None:
        """Apply ``changed_when`` and ``failed_when`` (they see the result by its register name)."""
        if task.changed_when is None and task.failed_when is None:
            return
        check_vars = {**variables, **verbatim(result)}
        if task.register:
            check_vars[task.register] = Verbatim(result)
        what = f"task {task.name!r}"
        if task.changed_when is not None:
            result["changed"] = self.templar.evaluate_condition(
                list(task.changed_when), check_vars, location=task.location, what=what
            )
        if task.failed_when is not None:
            result["failed_when_result"] = failed = self.templar.evaluate_condition(
                list(task.failed_when), check_vars, location=task.location, what=what
            )
            result["failed"] = failed

    def _context(
        self,
        state: HostState,
        task: Task,
        step: StepType,
        variables: dict[str, Any],
        check_mode: bool,
    ) -> StepContext:
        target = state
        if task.delegate_to:
            delegate = str(self.templar.render(task.delegate_to, variables))
            if delegate != state.name:
                target = self.run.state(delegate)
        # Opened on first use: a step that never touches the host (debug, most http
        # calls) never connects to it.
        conn: Connection = _LazyConnection(target.name, lambda: self.run.connection(target))
        env = self.templar.render(dict(task.environment), variables) if task.environment else {}
        return StepContext(
            host=state.name,
            vars=variables,
            conn=conn,
            check_mode=check_mode,
            diff=self.run.options.diff if task.diff is None else self._flag(task.diff, variables),
            timeout=self._timeout(task, variables),
            become=self._become(task, variables),
            env={str(k): str(v) for k, v in env.items()},
            log=lambda text: self.run.bus.emit(
                "log", host=state.name, task=task.name, message=text
            ),
            cancelled=self.run.cancelled,
            search_paths=self._search_paths(task),
            render=self._renderer(variables),
            approve=lambda spec: self._approve(task, spec, variables),
        )

    def _renderer(
        self, variables: Mapping[str, Any]
    ) -> Callable[[str, Mapping[str, Any] | None], Any]:
        def render(text: str, extra: Mapping[str, Any] | None = None) -> Any:
            return self.templar.render(text, {**variables, **(extra or {})})

        return render

    def _approve(
        self, task: Task, spec: Mapping[str, Any], variables: Mapping[str, Any]
    ) -> dict[str, Any]:
        decision = self.run.ask_approval(spec, key=task.uid, where=task.name, variables=variables)
        return {
            "approved": decision.approved,
            "by": decision.by,
            "comment": decision.comment,
            "timed_out": decision.timed_out,
        }

    def _timeout(self, task: Task, variables: Mapping[str, Any]) -> float | None:
        """The task's own timeout, cut short by the play's deadline."""
        timeout = (
            parse_duration(self.templar.render(task.timeout, variables))
            if task.timeout is not None
            else None
        )
        if self.pctx.deadline is not None:
            left = max(0.001, self.pctx.deadline - time.monotonic())
            timeout = left if timeout is None else min(timeout, left)
        return timeout

    def _target_name(self, state: HostState, task: Task, variables: Mapping[str, Any]) -> str:
        if task.delegate_to:
            return str(self.templar.render(task.delegate_to, variables))
        return state.name

    def _search_paths(self, task: Task) -> tuple[Path, ...]:
        """Where relative ``src`` files are looked for: the task file's folder, then the playbook's.

        Resolved once per task file for the play (relative paths depend on the cwd,
        so this is not cached across runs).
        """
        found = self._paths.get(task.location.file)
        if found is None:
            task_dir = Path(task.location.file).parent.resolve()
            found = tuple(dict.fromkeys((task_dir, self.run.playbook.base_dir.resolve())))
            self._paths[task.location.file] = found
        return found

    def _become(self, task: Task, variables: Mapping[str, Any]) -> Become | None:
        become = task.become if task.become is not None else variables.get("ansible_become")
        if not self._flag(become, variables):
            return None
        user = task.become_user or variables.get("ansible_become_user") or "root"
        password = variables.get("ansible_become_password", variables.get("ansible_become_pass"))
        if password is not None and not isinstance(password, Secret):
            password = Secret(str(self.templar.render(password, variables)))
        if isinstance(password, Secret):
            self.run.bus.add_secret(password.reveal())
        return Become(user=str(self.templar.render(user, variables)), password=password)


def _failure_reason(result: Mapping[str, Any]) -> str | None:
    """Why a unit did not succeed, in the words of ``retry.on``; None when it did."""
    if result.get("unreachable"):
        return "unreachable"
    if result.get("timed_out") and result.get("failed"):
        return "timeout"
    if result.get("failed"):
        return "failed"
    return None


# Steps get their timeout through ctx.timeout and stop their commands; this slack
# covers a step that does not, before the engine gives up waiting for it.
TIMEOUT_SLACK = 2.0


def _call_step(step: StepType, ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Run the step, giving up (and signalling it to stop) when its timeout has passed."""
    if ctx.timeout is None:
        return step.run(ctx, args)
    import concurrent.futures
    import threading

    unit_cancelled = threading.Event()
    run_cancelled = ctx.cancelled
    ctx.cancelled = unit_cancelled
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="corral-step")
    future = pool.submit(step.run, ctx, args)
    try:
        deadline = time.monotonic() + ctx.timeout + TIMEOUT_SLACK
        while True:
            try:
                return future.result(timeout=0.2)
            except concurrent.futures.TimeoutError:
                if run_cancelled.is_set():
                    unit_cancelled.set()
                if time.monotonic() > deadline:
                    unit_cancelled.set()
                    return StepResult(
                        failed=True, timed_out=True, msg=f"timed out after {ctx.timeout:g} seconds"
                    )
    finally:
        pool.shutdown(wait=False)


class _LazyConnection:
    """The host's connection, opened by the first call a step makes on it."""

    def __init__(self, host: str, open_connection: Callable[[], Connection]) -> None:
        self.host = host
        self._open = open_connection
        self._conn: Connection | None = None

    def __getattr__(self, name: str) -> Any:
        conn = self._conn
        if conn is None:
            conn = self._conn = self._open()  # kept for the rest of this step's call
        return getattr(conn, name)
