"""The ``async_status`` step: the state of a job a ``poll: 0`` task started.

Used as in Ansible, to collect a job started with ``async`` and ``poll: 0``::

    - async_status: {jid: "{{ job.ansible_job_id }}"}
      register: done
      until: done.finished
      retries: 30
      delay: 2

``mode: cleanup`` removes the job's files from the host.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from corral import StepContext, StepResult
from corral.jobs import ASYNC_DIR, NOT_FOUND, Job, cleanup_job, job_file, job_status

__all__ = ["ASYNC_STATUS_SCHEMA", "async_status"]

ASYNC_STATUS_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["jid"],
    "properties": {
        "jid": {
            "type": "string",
            "description": "The job id a task with `poll: 0` registered as `ansible_job_id`.",
        },
        "mode": {
            "type": "string",
            "enum": ["status", "cleanup"],
            "default": "status",
            "description": "`status` reports the job; `cleanup` removes its files.",
        },
    },
}

_RESULT_KEYS = ("changed", "failed", "msg", "rc", "stdout", "stderr")


def async_status(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Report (or remove) a background job on the host."""
    jid = str(args["jid"])
    job = Job(jid, job_file(jid, str(ctx.var("ansible_async_dir") or ASYNC_DIR)))
    if args.get("mode", "status") == "cleanup":
        erased = cleanup_job(ctx.conn, job, become=ctx.become)
        if erased is None:
            return _result(job, {"failed": True, "msg": NOT_FOUND})
        return StepResult(data={"ansible_job_id": jid, "erased": erased})
    return _result(job, job_status(ctx.conn, job, become=ctx.become).result(job))


def _result(job: Job, shape: Mapping[str, Any]) -> StepResult:
    data = {k: v for k, v in shape.items() if k not in _RESULT_KEYS}
    data.setdefault("ansible_job_id", job.jid)
    return StepResult(
        changed=bool(shape.get("changed", False)),
        failed=bool(shape.get("failed", False)),
        msg=str(shape.get("msg", "")),
        rc=shape.get("rc"),
        stdout=shape.get("stdout"),
        stderr=shape.get("stderr"),
        data={k: v for k, v in data.items() if not k.endswith("_lines")},
    )
