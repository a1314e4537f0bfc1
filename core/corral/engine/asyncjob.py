"""``async`` and ``poll``: a task's command run as a background job on the host.

A step that runs its command through :meth:`StepContext.run_command` (``command``,
``shell``, ``script``...) gets it started as a job (see :mod:`corral.jobs`). With
``poll: N`` the engine waits for it, checking at most every N seconds; at the
``async`` limit the host kills it ("Timeout exceeded", as Ansible's job wrapper
says), or the engine does when the host did not ("async task did not complete
within the requested time", as Ansible's controller says). With ``poll: 0`` the
task ends at once with the job's id, for ``async_status`` to collect. A step that
runs no command there (``copy``, ``http``...) runs as usual, within the limit.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from corral import cooperative
from corral.connection import CommandResult
from corral.errors import TemplateError
from corral.jobs import (
    ASYNC_DIR,
    KILLED_AT_LIMIT,
    Job,
    job_status,
    kill_job,
    start_job,
    timeout_message,
)
from corral.steps import StepContext, StepResult

if TYPE_CHECKING:
    from corral.playbook.model import Task
    from corral.playbook.templating.templar import Templar

__all__ = ["AsyncStarted", "AsyncTask", "async_task"]

# The controller's check of a job comes this long after its limit at the latest,
# before it kills the job itself; the step's own timeout leaves room for that.
SLACK = 5.0
FIRST_CHECK = 0.1  # seconds before the first check; doubled up to ``poll``
DEFAULT_POLL = 15.0  # Ansible's default poll interval


class AsyncStarted(Exception):
    """Raised through the step when ``poll: 0`` has started its job."""

    def __init__(self, job: Job) -> None:
        super().__init__(job.jid)
        self.job = job


def _seconds(templar: Templar, value: Any, variables: Mapping[str, Any], name: str) -> float:
    rendered = templar.render(value, variables)
    try:
        number = float(rendered)
    except (TypeError, ValueError):
        raise TemplateError(f"{name} must be a number of seconds, got {rendered!r}") from None
    if number < 0:
        raise TemplateError(f"{name} must not be negative, got {rendered!r}")
    return number


def async_task(templar: Templar, task: Task, variables: Mapping[str, Any]) -> AsyncTask | None:
    """The task's ``async``/``poll`` settings, or None when it does not run async."""
    if task.async_ is None:
        return None
    limit = _seconds(templar, task.async_, variables, "async")
    if limit <= 0:
        return None
    poll = DEFAULT_POLL if task.poll is None else _seconds(templar, task.poll, variables, "poll")
    # Rendered: an inventory may write it as a template; set_fact's value is data.
    found = variables.get("ansible_async_dir")
    async_dir = str(templar.render(found, variables) if found else ASYNC_DIR)
    return AsyncTask(limit=limit, poll=poll, async_dir=async_dir)


@dataclass
class AsyncTask:
    """One attempt of an async task: installs the job runner in the step's context."""

    limit: float
    poll: float  # 0: start the job and go on
    async_dir: str = ASYNC_DIR
    job: Job | None = None
    timeout_msg: str | None = None  # why the step failed at the limit, in Ansible's words
    ctx: StepContext | None = field(default=None, repr=False)

    def prepare(self, ctx: StepContext) -> None:
        """Make ``ctx.run_command`` start a job, and bound the whole step by the limit."""
        self.ctx = ctx
        ctx.async_runner = self._run
        ctx.timeout = self.limit + SLACK if ctx.timeout is None else ctx.timeout

    def _run(
        self,
        command: Sequence[str] | str,
        *,
        stdin: bytes | str | None = None,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        shown: str | None = None,
    ) -> CommandResult:
        ctx = self.ctx
        if ctx is None:
            raise RuntimeError("AsyncTask.prepare was not called")
        started = time.monotonic()
        job = self.job = start_job(
            ctx.conn,
            command,
            limit=max(1, round(self.limit)),
            async_dir=self.async_dir,
            shown=shown,
            stdin=stdin,
            env=env,
            cwd=cwd,
            become=ctx.become,
        )
        if self.poll == 0:
            raise AsyncStarted(job)
        wait = FIRST_CHECK
        while True:
            if cooperative.wait_event(ctx.cancelled, min(wait, self.poll)):
                kill_job(ctx.conn, job, self.limit, become=ctx.become)
                return CommandResult(rc=-9, stderr="interrupted", timed_out=True)
            status = job_status(ctx.conn, job, become=ctx.become)
            if status.state == "done":
                if status.limit is not None:
                    self.timeout_msg = KILLED_AT_LIMIT
                return CommandResult(
                    rc=status.rc if status.rc is not None else -1,
                    stdout=status.stdout,
                    stderr=status.stderr,
                    timed_out=status.limit is not None,
                )
            if status.state == "missing":
                return CommandResult(rc=-1, stderr=f"async job {job.jid} disappeared")
            if time.monotonic() - started > self.limit + 1:
                # The host's watchdog should have ended it; end it from here.
                kill_job(ctx.conn, job, self.limit, become=ctx.become)
                self.timeout_msg = timeout_message(self.limit)
                return CommandResult(rc=-9, timed_out=True)
            wait *= 2

    def finish(self, outcome: StepResult) -> StepResult:
        """The step's result with the job's keys, or Ansible's failure past the limit."""
        if self.job is not None:
            from corral.jobs import cleanup_job

            if self.ctx is not None:
                cleanup_job(self.ctx.conn, self.job, become=self.ctx.become)
            outcome.data.update(
                ansible_job_id=self.job.jid,
                results_file=self.job.results_file,
                started=True,
                finished=True,
            )
        if self.job is None and outcome.timed_out:
            self.timeout_msg = timeout_message(self.limit)
        if self.timeout_msg is not None:
            outcome.failed = True
            outcome.changed = False
            outcome.timed_out = False
            outcome.msg = self.timeout_msg
        return outcome


def started_result(job: Job) -> StepResult:
    """What a ``poll: 0`` task returns: the job, started (changed, as in Ansible)."""
    return StepResult(changed=True, data=job.started())
