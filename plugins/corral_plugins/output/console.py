"""The Ansible-like console: ``PLAY [..]``, ``TASK [..]``, ``ok: [web01]``, ``PLAY RECAP``.

Colour follows rich's rules: off when stdout is not a terminal or ``NO_COLOR``
is set. On a terminal, a task that spans many hosts also shows a progress bar
with an ETA.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import IO, TYPE_CHECKING, Any

from corral.engine.results import RECAP_KEYS
from corral_plugins.output.lines import KeptLines

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID

STYLES = {
    "ok": "green",
    "changed": "yellow",
    "failed": "red",
    "timeout": "red",
    "interrupted": "red",
    "unreachable": "bold red",
    "skipped": "cyan",
    "ignored": "cyan",
}
LABELS = {
    "ok": "ok",
    "changed": "changed",
    "skipped": "skipping",
    "ignored": "failed",
    "failed": "fatal",
    "timeout": "fatal",
    "interrupted": "fatal",
    "unreachable": "fatal",
}
VERDICTS = {"unreachable": "UNREACHABLE", "timeout": "TIMEOUT", "interrupted": "INTERRUPTED"}
PROGRESS_MIN_HOSTS = 20
# Keys that only add noise to a one-line result.
QUIET_KEYS = ("stdout_lines", "stderr_lines", "invocation", "duration", "_ansible_no_log")


def _banner(title: str, width: int = 80) -> str:
    return f"{title} " + "*" * max(3, width - len(title) - 1)


# Fact gathering: its result is the whole fact set (environment included), never printed.
FACT_ACTIONS = frozenset({"setup", "gather_facts"})


class ConsoleWriter:
    """Renders events for people; ``verbosity`` (``-v``) shows full results."""

    def __init__(
        self,
        console: Console | None = None,
        verbosity: int = 0,
        show_diff: bool = False,
        *,
        buffered: bool = False,
        stream: IO[str] | None = None,
    ) -> None:
        # Piped or redirected output is written as plain lines: rich is only imported,
        # and only renders, for a terminal (it costs start-up time and seconds on big runs).
        self.stream = stream
        if console is None and stream is None and sys.stdout.isatty():
            from rich.console import Console

            console = Console(highlight=False, soft_wrap=True)
        self.console = console
        self.verbosity = verbosity
        self.show_diff = show_diff
        self.progress: Progress | None = None
        self.progress_task: TaskID | None = None
        # Plain lines wait for idle(), when the event queue runs dry (see KeptLines).
        self.buffered = buffered
        self._kept = KeptLines(self._stream)

    def __call__(self, event: Mapping[str, Any]) -> None:
        handler = getattr(self, "on_" + str(event.get("event")), None)
        if handler is not None:
            handler(event)

    def idle(self) -> None:
        """Write the lines kept back (the event bus calls this when it has nothing queued)."""
        self._kept.write()

    def _stream(self) -> IO[str]:
        if self.console is not None:
            return self.console.file
        return self.stream or sys.stdout

    def _print(self, text: str, style: str | None = None) -> None:
        console = self.console
        if console is None or (
            self.progress is None and (console.no_color or not console.is_terminal)
        ):
            if self.buffered:
                self._kept.add(text)
            else:
                self._stream().write(text + "\n")
            return
        self.idle()
        from rich.markup import escape

        console.print(escape(text), style=style, highlight=False)

    def on_play_start(self, event: Mapping[str, Any]) -> None:
        self._print("")
        self._print(_banner(f"PLAY [{event['play']}]"))

    def on_task_start(self, event: Mapping[str, Any]) -> None:
        self._stop_progress()
        self._print("")
        self._print(_banner(f"TASK [{event['task']}]"))
        if self.verbosity >= 2:
            self._print(f"task path: {event.get('location')}", "dim")
        hosts = int(event.get("hosts") or 0)
        if hosts >= PROGRESS_MIN_HOSTS and self.console is not None and self.console.is_terminal:
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

            self.progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.completed}/{task.total}"),
                TimeRemainingColumn(),
                console=self.console,
                transient=True,
            )
            self.progress_task = self.progress.add_task(str(event["task"]), total=hosts)
            self.progress.start()

    def on_handler_start(self, event: Mapping[str, Any]) -> None:
        self._stop_progress()
        self._print("")
        self._print(_banner(f"RUNNING HANDLER [{event['task']}]"))

    def on_item_result(self, event: Mapping[str, Any]) -> None:
        self._result(event, f" => (item={self._label(event.get('item'))})")

    def on_task_result(self, event: Mapping[str, Any]) -> None:
        if self.progress is not None and self.progress_task is not None:
            self.progress.advance(self.progress_task)
        result = event.get("result") or {}
        if result.get("results") and event["status"] not in ("failed", "timeout", "unreachable"):
            return  # the items were shown one by one (an empty loop shows as skipped)
        self._result(event, "")

    def _result(self, event: Mapping[str, Any], suffix: str) -> None:
        status = str(event["status"])
        result: Mapping[str, Any] = event.get("result") or {}
        host = event["host"]
        label = LABELS.get(status, status)
        line = f"{label}: [{host}]{suffix}"
        if status in ("failed", "timeout", "interrupted", "unreachable", "ignored"):
            line += f": {VERDICTS.get(status, 'FAILED')}! => {self._dump(result, compact=True)}"
        elif self._shows_result(event, result):
            line += " => " + self._dump(self._visible(event, result))
        self._print(line, STYLES.get(status))
        diff = result.get("diff")
        if isinstance(diff, Mapping) and (self.show_diff or self.verbosity >= 2):
            self._print_diff(diff)
        if status == "ignored":
            self._print("...ignoring", "cyan")

    def _print_diff(self, diff: Mapping[str, Any]) -> None:
        """A unified diff of ``before``/``after``, as ``--diff`` shows it."""
        import difflib

        before, after = diff.get("before", ""), diff.get("after", "")
        if not isinstance(before, str) or not isinstance(after, str):
            before, after = self._dump(before), self._dump(after)
        lines = difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            fromfile=str(diff.get("before_header", "before")),
            tofile=str(diff.get("after_header", "after")),
        )
        for text in lines:
            style = (
                "green"
                if text.startswith("+")
                else "red"
                if text.startswith("-")
                else "cyan"
                if text.startswith("@")
                else None
            )
            self._print(text.rstrip("\n"), style)

    def _shows_result(self, event: Mapping[str, Any], result: Mapping[str, Any]) -> bool:
        action = str(event.get("action", "")).rsplit(".", 1)[-1]
        if action in FACT_ACTIONS and not result.get("failed"):
            return False  # as Ansible: gathered facts are never dumped, at any -v
        if self.verbosity >= 1:
            return True
        return action == "debug" and "skipped" not in result

    def _visible(self, event: Mapping[str, Any], result: Mapping[str, Any]) -> dict[str, Any]:
        if self.verbosity >= 1:
            return {k: v for k, v in result.items() if k not in QUIET_KEYS or self.verbosity >= 3}
        # debug: show what it printed, as Ansible does.
        return {
            k: v
            for k, v in result.items()
            if k not in ("changed", "failed", "item", "ansible_loop_var") and not k.startswith("_")
        }

    @staticmethod
    def _label(item: Any) -> str:
        return item if isinstance(item, str) else json.dumps(item, default=str)

    @staticmethod
    def _dump(value: Any, compact: bool = False) -> str:
        if compact:
            return json.dumps(value, default=str, sort_keys=True)
        return json.dumps(value, default=str, indent=4, sort_keys=True)

    def on_retry(self, event: Mapping[str, Any]) -> None:
        left = int(event["retries"]) - int(event["attempt"]) + 1
        wait = f", next in {event['delay']:g}s" if event.get("delay") else ""
        self._print(
            f"FAILED - RETRYING: [{event['host']}]: {event['task']} ({left} retries left{wait}).",
            "yellow",
        )

    def on_warning(self, event: Mapping[str, Any]) -> None:
        self._print(f"[WARNING]: {event['message']}", "magenta")

    def on_log(self, event: Mapping[str, Any]) -> None:
        if self.verbosity >= 1:
            self._print(f"[{event['host']}] {event['message']}", "dim")

    def on_play_end(self, event: Mapping[str, Any]) -> None:
        self._stop_progress()
        if event.get("note") == "no more hosts left":
            self._print("")
            self._print("NO MORE HOSTS LEFT " + "*" * 61, "red")

    def on_rollback_start(self, event: Mapping[str, Any]) -> None:
        self._stop_progress()
        self._print("")
        self._print(_banner(f"ROLLBACK [{event['play']}]"), "yellow")
        why = (
            "the run stopped before the play completed"
            if event.get("reason") == "stopped"
            else "the play failed"
        )
        self._print(f"{why}; undoing completed work on {', '.join(event['hosts'])}", "yellow")

    def on_play_skipped(self, event: Mapping[str, Any]) -> None:
        self._print("")
        self._print(_banner(f"PLAY [{event['play']}] SKIPPED"), "cyan")
        self._print(f"skipped: {event['reason']}", "cyan")

    def on_approval(self, event: Mapping[str, Any]) -> None:
        self._stop_progress()
        self._print("")
        self._print(_banner(f"APPROVAL [{event.get('task') or event.get('play')}]"), "magenta")
        self._print(str(event.get("message", "")), "magenta")
        self._print(
            f"waiting up to {event.get('timeout')}s; from another shell: "
            f"corral approve {event['run_id']} [--reject]",
            "magenta",
        )

    def on_approval_result(self, event: Mapping[str, Any]) -> None:
        verdict = "approved" if event.get("approved") else "rejected"
        who = f" by {event['by']}" if event.get("by") else ""
        comment = f": {event['comment']}" if event.get("comment") else ""
        self._print(f"{verdict}{who}{comment}", "green" if event.get("approved") else "red")

    def on_control(self, event: Mapping[str, Any]) -> None:
        """Cancel, pause and continue asked from another process (corral cancel/pause),
        and an abort (corral cancel --now, a wind-down past its limit)."""
        action, by = event.get("action"), event.get("by") or "someone"
        if action == "abort" and event.get("limit") is not None:
            text = (
                f"aborting: the wind-down ran past its limit ({event['limit']:g}s, twice "
                "the grace period); what still runs is killed"
            )
        elif action == "abort":
            text = f"aborted by {by} from another process: what still runs is killed"
        elif action == "cancel" and event.get("queued"):
            text = f"cancelled by {by} while queued: the run never started"
        elif action == "cancel":
            grace = event.get("grace")
            within = f" (up to {grace:g}s)" if isinstance(grace, int | float) else ""
            text = (
                f"cancelled by {by} from another process: "
                f"stopping after the running tasks finish{within}"
            )
        elif action == "pause":
            text = (
                f"paused by {by} from another process: no new task starts until "
                f"'corral continue {event['run_id']}'"
            )
        else:
            text = "continued: new tasks start again"
        self._stop_progress()
        self._print(text, "yellow")

    def on_recap(self, event: Mapping[str, Any]) -> None:
        self._stop_progress()
        self._print("")
        self._print(_banner("PLAY RECAP"))
        hosts: Mapping[str, Mapping[str, int]] = event.get("hosts") or {}
        for host, counts in hosts.items():
            # Ansible's layout: host padded to 26, then "key=value" with the value padded to 4.
            parts = [f"{key}={counts.get(key, 0)!s:<4}" for key in RECAP_KEYS]
            style = (
                "red"
                if counts.get("failed") or counts.get("unreachable")
                else ("yellow" if counts.get("changed") else "green")
            )
            self._print(f"{host:<26} : " + " ".join(parts).rstrip(), style)
        self._print("")

    def _stop_progress(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
            self.progress_task = None
