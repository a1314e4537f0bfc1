"""An Ansible callback that writes results as corral-shaped JSON lines, for the compat tests.

ansible-core ships no ``json`` stdout callback any more (it moved to the ansible.posix
collection, which is not installed), and corral's event stream is the thing compared, so
this writes Ansible's results in the shape of corral's ``--output json`` events: one
``task_result`` per host and task, one ``item_result`` per loop item, and a ``recap``
with corral's counter names. Enabled through ``ANSIBLE_CALLBACKS_ENABLED``; it writes to
the file named by ``CORRAL_COMPAT_EVENTS`` and leaves Ansible's own console output alone.
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
    name: compat_events
    type: notification
    short_description: corral-shaped JSON lines for corral's differential tests
    description: Writes task results and the recap to the file in CORRAL_COMPAT_EVENTS.
"""

# Ansible's recap keys, as corral names them.
RECAP_NAMES = {
    "ok": "ok",
    "changed": "changed",
    "unreachable": "unreachable",
    "failures": "failed",
    "skipped": "skipped",
    "rescued": "rescued",
    "ignored": "ignored",
}


class CallbackModule(CallbackBase):  # type: ignore[misc]
    """Writes one JSON object per line, as corral's JSON output does."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "notification"
    CALLBACK_NAME = "compat_events"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._path = os.environ["CORRAL_COMPAT_EVENTS"]
        with open(self._path, "w", encoding="utf-8"):
            pass

    def _write(self, event: dict[str, Any]) -> None:
        line = json.dumps(event, default=str, sort_keys=True)
        with self._lock, open(self._path, "a", encoding="utf-8") as out:
            out.write(line + "\n")

    def _result(self, kind: str, result: Any, status: str) -> None:
        data = dict(result.result)
        if status == "ok" and data.get("changed"):
            status = "changed"
        self._write(
            {
                "event": kind,
                "host": result.host.get_name(),
                "task": result.task.get_name(),
                "action": result.task.action,
                "handler": _is_handler(result.task),
                "status": status,
                "result": data,
            }
        )

    def v2_runner_on_ok(self, result: Any) -> None:
        self._result("task_result", result, "ok")

    def v2_runner_on_failed(self, result: Any, ignore_errors: bool = False) -> None:
        self._result("task_result", result, "ignored" if ignore_errors else "failed")

    def v2_runner_on_skipped(self, result: Any) -> None:
        self._result("task_result", result, "skipped")

    def v2_runner_on_unreachable(self, result: Any) -> None:
        self._result("task_result", result, "unreachable")

    def v2_runner_item_on_ok(self, result: Any) -> None:
        self._result("item_result", result, "ok")

    def v2_runner_item_on_failed(self, result: Any) -> None:
        self._result("item_result", result, "failed")

    def v2_runner_item_on_skipped(self, result: Any) -> None:
        self._result("item_result", result, "skipped")

    def v2_playbook_on_stats(self, stats: Any) -> None:
        hosts = {}
        for host in sorted(stats.processed):
            counts = stats.summarize(host)
            hosts[host] = {ours: int(counts.get(theirs, 0)) for theirs, ours in RECAP_NAMES.items()}
        self._write({"event": "recap", "hosts": hosts})


def _is_handler(task: Any) -> bool:
    from ansible.playbook.handler import Handler

    return isinstance(task, Handler)
