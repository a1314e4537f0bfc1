"""Run-end and approval notifications: the plays' ``notifications:``, sent from ``corral_event``.

The plugin declares the ``notifications`` play keyword (:data:`NOTIFICATIONS`): the
loader checks each entry against its channel's step schema before the run, and
``corral_event`` reads the entries back from ``run.extensions``.

Each entry names a ``channel`` (slack, teams, email, webhook), ``on`` (which of
``failure``, ``success``, ``approval`` send a message, all three by default; and the
threshold alerts ``slow`` and ``failure_rate``, see :mod:`corral_plugins.notify.alerts`,
with their settings ``slow_factor``, ``min_runs``, ``window``, ``threshold``) and
the channel's arguments, which are those of its ``notify.<channel>`` step. The
message (Slack text and blocks, a Teams card, an email's subject and bodies, the
webhook's JSON payload) is composed from the run's summary; an argument the entry
gives replaces the composed one. Strings in an entry may be templates: they see the
summary as ``run``, the run's params and extra vars (``-p``, ``-e``), and the run's
filters and lookups (``lookup('env', 'SLACK_WEBHOOK_URL')``).

Nothing here raises: a bad entry or a failed delivery is printed to stderr as
``warning: notification via CHANNEL failed: ...`` and the run's exit code stays
what it was. Deliveries happen one after the other, each bounded by its timeout.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from corral import CorralError, KeywordValue, Location, PlayKeyword, RunInfo, StepType
from corral.errors import did_you_mean
from corral_plugins.notify.alerts import ALERT_KEYS, ALERTS

__all__ = ["KEYWORD", "OUTCOMES", "Channel", "handle_event", "play_keyword", "summarise_run"]

KEYWORD = "notifications"

OUTCOMES = ("failure", "success", "approval")
NOTIFY_TIMEOUT = 10.0
MAX_HOSTS_SHOWN = 20  # per-host lines in a message; chat services cap message sizes
_ENTRY_KEYS = ("channel", "on", *ALERT_KEYS)
_COMPOSED_TOGETHER = {"slack": ("text", "blocks", "attachments")}
_FILE_ARGS = ("ca_cert",)


@dataclass(frozen=True)
class Channel:
    """A notification channel: its step type (for the schema) and the function that sends."""

    step: StepType
    send: Callable[[Mapping[str, Any]], dict[str, Any]]


def handle_event(event: Mapping[str, Any], run: RunInfo, channels: Mapping[str, Channel]) -> None:
    """Send the notifications ``event`` calls for (a ``recap`` or an ``approval``), if any."""
    kind = event.get("event")
    if kind not in ("recap", "approval"):
        return
    entries = [entry for value in run.values(KEYWORD) for entry in value]
    if not entries:
        return
    if kind == "recap":
        summary = summarise_run(event, check=run.options.check)
    else:
        summary = _summarise_approval(event, run)
    _send_all(entries, summary, channels, run)
    if kind == "recap":
        from corral_plugins.notify.alerts import alert_summaries

        warn = partial(_warn, run=run)
        for entry, alert in alert_summaries(entries, summary, run.environ, warn):
            _send_all([entry], alert, channels, run)


def summarise_run(recap: Mapping[str, Any], *, check: bool = False) -> dict[str, Any]:
    """What a run-end message says, from the ``recap`` event; also the webhook's payload."""
    hosts: Mapping[str, Mapping[str, int]] = recap.get("hosts") or {}
    exit_code = int(recap.get("exit_code", 1))
    return {
        "event": "run_end",
        "outcome": "success" if exit_code == 0 else "failure",
        "status": _status_word(exit_code),
        "playbook": str(recap.get("playbook", "")),
        "run_id": str(recap.get("run_id", "")),
        "exit_code": exit_code,
        "duration": recap.get("duration"),
        "check": check,
        "time": recap.get("time"),
        "hosts": {name: dict(counts) for name, counts in hosts.items()},
        "failed_hosts": [h for h, c in hosts.items() if c.get("failed")],
        "unreachable_hosts": [h for h, c in hosts.items() if c.get("unreachable")],
    }


def _status_word(exit_code: int) -> str:
    return {0: "succeeded", 2: "failed", 3: "failed: hosts unreachable", 99: "was interrupted"}.get(
        exit_code, "failed with an internal error"
    )


def _summarise_approval(event: Mapping[str, Any], run: RunInfo) -> dict[str, Any]:
    fields = {k: v for k, v in event.items() if k not in (KEYWORD, "v")}
    return {
        **fields,
        "event": "approval",
        "outcome": "approval",
        "playbook": str(event.get("playbook") or run.playbook),
        "message": str(event.get("message") or "approval needed"),
        "check": run.options.check,
    }


# -- the play keyword -----------------------------------------------------------------


SCHEMA: dict[str, Any] = {
    "type": "array",
    "description": "Where to report the run's end (or a wait for approval).",
    "items": {
        "type": "object",
        "required": ["channel"],
        "properties": {
            "channel": {"type": "string"},
            "on": {
                "type": "array",
                "items": {"enum": [*OUTCOMES, *ALERTS]},
                "description": "When to send: failure, success, approval (all three when left "
                "out), and the threshold alerts slow and failure_rate.",
            },
            "slow_factor": {
                "type": "number",
                "exclusiveMinimum": 0,
                "default": 2,
                "description": "slow: the run took more than this times the p95 duration of "
                "the playbook's past successful runs.",
            },
            "min_runs": {
                "type": "integer",
                "minimum": 1,
                "default": 5,
                "description": "slow and failure_rate: the past runs needed before they fire.",
            },
            "window": {
                "type": "integer",
                "minimum": 1,
                "default": 10,
                "description": "failure_rate: how many of the playbook's last runs (this one "
                "included) are counted.",
            },
            "threshold": {
                "type": "number",
                "minimum": 0,
                "maximum": 1,
                "default": 0.5,
                "description": "failure_rate: fires when the failed share of the window is "
                "above this.",
            },
        },
    },
}


def play_keyword(channels: Mapping[str, Channel]) -> PlayKeyword:
    """``notifications:``, each entry checked against its ``notify.<channel>`` step at load."""

    def validate(value: KeywordValue) -> tuple[Any, ...]:
        from corral.playbook.args import check_args

        for index, entry in enumerate(value.value):
            channel = channels.get(str(entry.get("channel")))
            if channel is None:
                known = sorted(channels)
                raise value.error(
                    f"unknown notification channel {entry.get('channel')!r}",
                    index,
                    hint=did_you_mean(str(entry.get("channel")), known)
                    or f"channels: {', '.join(known)}",
                )
            args = {k: v for k, v in entry.items() if k not in _ENTRY_KEYS}
            source = value.source[index]
            check_args(channel.step, args, value.location_of(index), source=source, partial=True)
        return tuple(value.value)

    return PlayKeyword(
        name=KEYWORD,
        schema=SCHEMA,
        validate=validate,
        description="Send a message when the run ends or waits for an approval.",
    )


# -- delivering -----------------------------------------------------------------------


def _send_all(
    entries: list[Any], summary: dict[str, Any], channels: Mapping[str, Channel], run: RunInfo
) -> None:
    base = Path(summary["playbook"]).parent if summary.get("playbook") else Path.cwd()
    for entry in entries:
        name = str(entry.get("channel", "?"))
        if summary["outcome"] not in (entry.get("on") or OUTCOMES):
            continue
        try:
            _send_one(entry, name, summary, channels, base, run)
        except CorralError as exc:
            hint = f" ({exc.hint})" if exc.hint else ""
            _warn(f"notification via {name} failed: {exc}{hint}", run)
        except Exception as exc:
            _warn(f"notification via {name} failed: {type(exc).__name__}: {exc}", run)


def _send_one(
    entry: Mapping[str, Any],
    name: str,
    summary: dict[str, Any],
    channels: Mapping[str, Channel],
    base: Path,
    run: RunInfo,
) -> None:
    from corral.playbook.args import check_args, is_templated

    channel = channels.get(name)
    if channel is None:
        known = ", ".join(sorted(channels))
        raise CorralError(f"unknown channel {name!r}", hint=f"channels: {known}")
    given = {k: v for k, v in entry.items() if k not in _ENTRY_KEYS}
    if is_templated(given):
        # The params and extra vars too, so that a URL or token can be a secret param.
        scope = {**run.options.params, **run.options.extra_vars, "run": summary}
        given = dict(run.render(given, scope, what=KEYWORD))
    composed = compose(name, summary)
    for key in _COMPOSED_TOGETHER.get(name, ()):
        if key in given:
            composed = {k: v for k, v in composed.items() if k not in _COMPOSED_TOGETHER[name]}
    args = {**composed, **given}
    check_args(
        channel.step, args, Location(f"{summary['playbook']} (notifications)"), rendered=True
    )
    args.setdefault("timeout", NOTIFY_TIMEOUT)
    for key in _FILE_ARGS:
        if args.get(key):
            args[key] = _local_file(base, str(args[key]))
    channel.send(args)


def _local_file(base: Path, name: str) -> str:
    """A controller file named relative to the playbook, found as the steps find it."""
    for candidate in (base / "files" / name, base / name):
        if candidate.exists():
            return str(candidate)
    return str(base / name)


def _warn(message: str, run: RunInfo) -> None:
    # An entry may render secret params (a webhook URL); an error quoting one hides it.
    from corral.secrets import redact_text, revealed

    given = (*run.options.params.values(), *run.options.extra_vars.values())
    message = redact_text(message, revealed(given))
    # sys.stderr is looked up now, not at import: tests and embedders redirect it.
    print(f"warning: {message}", file=sys.stderr, flush=True)


# -- composing messages -------------------------------------------------------------


def compose(channel: str, summary: Mapping[str, Any]) -> dict[str, Any]:
    """The message arguments for ``channel`` saying what ``summary`` says."""
    headline = _headline(summary)
    lines = _detail_lines(summary)
    if channel == "slack":
        blocks: list[dict[str, Any]] = [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*{headline}*"}}
        ]
        if lines:
            text = "\n".join(lines)
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"```{text}```"}})
        footer = {"type": "mrkdwn", "text": _footer(summary)}
        blocks.append({"type": "context", "elements": [footer]})
        return {"text": headline, "blocks": blocks}
    if channel == "teams":
        return {"title": headline, "text": "\n\n".join([*lines, _footer(summary)])}
    if channel == "email":
        text = "\n".join([headline, "", *lines, "", _footer(summary)]) + "\n"
        return {
            "subject": f"[corral] {headline}",
            "body": text,
            "html": _html(headline, lines, summary),
        }
    return {"payload": dict(summary)}


def _headline(summary: Mapping[str, Any]) -> str:
    playbook = Path(str(summary.get("playbook") or "playbook")).name
    mode = " (check mode)" if summary.get("check") else ""
    if summary["outcome"] == "approval":
        return f"{playbook}{mode} waits for approval: {summary['message']}"
    if summary["outcome"] in ALERTS:
        what = "was slow" if summary["outcome"] == "slow" else "fails often"
        return f"{playbook}{mode} {what}: {summary['reason']}"
    headline = f"{playbook}{mode} {summary['status']}"
    failed = [*summary.get("failed_hosts", []), *summary.get("unreachable_hosts", [])]
    if failed:
        shown = ", ".join(failed[:5]) + (f" and {len(failed) - 5} more" if len(failed) > 5 else "")
        headline += f" on {shown}"
    return headline


def _detail_lines(summary: Mapping[str, Any]) -> list[str]:
    if summary["outcome"] == "approval":
        lines = [f"waiting: {summary['task']}"] if summary.get("task") else []
        if summary.get("timeout") is not None:
            then = "continues" if summary.get("on_timeout") == "continue" else "fails"
            lines.append(f"without an answer within {summary['timeout']:g}s, the run {then}")
        return lines
    hosts: Mapping[str, Mapping[str, int]] = summary.get("hosts") or {}
    # Hosts with problems first: they are what the reader needs to see.
    ordered = sorted(
        hosts, key=lambda h: not (hosts[h].get("failed") or hosts[h].get("unreachable"))
    )
    lines = [_host_line(name, hosts[name]) for name in ordered[:MAX_HOSTS_SHOWN]]
    if len(ordered) > MAX_HOSTS_SHOWN:
        lines.append(f"... and {len(ordered) - MAX_HOSTS_SHOWN} more hosts")
    return lines


def _host_line(name: str, counts: Mapping[str, int]) -> str:
    keys = ("ok", "changed", "failed", "unreachable", "skipped")
    return f"{name}: " + " ".join(f"{key}={counts.get(key, 0)}" for key in keys)


def _footer(summary: Mapping[str, Any]) -> str:
    parts = [f"run {summary.get('run_id', '?')}"]
    if summary.get("exit_code") is not None:
        parts.append(f"exit code {summary['exit_code']}")
    if summary.get("duration") is not None:
        parts.append(f"{float(summary['duration']):.1f}s")
    return " · ".join(parts)


def _html(headline: str, lines: list[str], summary: Mapping[str, Any]) -> str:
    from html import escape

    rows = "".join(f"<li><code>{escape(line)}</code></li>" for line in lines)
    listing = f"<ul>{rows}</ul>" if rows else ""
    return f"<p><strong>{escape(headline)}</strong></p>{listing}<p>{escape(_footer(summary))}</p>"
