"""``corral history``, ``show``, ``logs`` and ``stats``: reading the run store."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import click

from corral.errors import UsageError
from corral_plugins.history.display import format_duration, format_time, shown_run

if TYPE_CHECKING:
    from corral.store.db import Store

STATUSES = ("queued", "running", "succeeded", "failed", "cancelled", "interrupted")


def open_store_for(obj: Any) -> Store:
    """The run store of the CLI's environment; a usage error when it is off."""
    from corral.store.db import open_store, store_enabled

    if not store_enabled(obj.environ):
        raise UsageError("the run store is off (CORRAL_STORE)", hint="unset CORRAL_STORE")
    return open_store(obj.environ)


def _since(text: str | None) -> float | None:
    from corral.store.retention import parse_since

    return None if text is None else parse_since(text)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Plain aligned columns (no wrapping, so output reads the same in a pipe)."""
    cells = [
        [str(h) for h in headers],
        *[["-" if c is None else str(c) for c in row] for row in rows],
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    )


def _echo_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, default=str))


# -- history ----------------------------------------------------------------------------


@click.command("history")
@click.option(
    "--playbook", metavar="PATH", help="Only runs of this playbook (path, file name or glob)."
)
@click.option("--status", type=click.Choice(STATUSES), help="Only runs with this status.")
@click.option("--host", metavar="HOST", help="Only runs that included this host.")
@click.option(
    "--since", metavar="WHEN", help="Only runs started since: an age (7d, 12h) or a date."
)
@click.option(
    "-n",
    "--limit",
    type=click.IntRange(1),
    default=20,
    show_default=True,
    help="At most this many runs.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the runs as JSON.")
@click.pass_obj
def history_command(
    obj: Any,
    playbook: str | None,
    status: str | None,
    host: str | None,
    since: str | None,
    limit: int,
    as_json: bool,
) -> int:
    """List recorded runs, newest first.

    A run whose process died (killed, crashed, machine rebooted) is shown as
    interrupted; resume it with 'corral resume RUN'.
    """
    from corral.store.queries import history

    store = open_store_for(obj)
    try:
        runs = history(
            store, playbook=playbook, status=status, host=host, since=_since(since), limit=limit
        )
    finally:
        store.close()
    if as_json:
        _echo_json(runs)
        return 0
    if not runs:
        click.echo(
            "no runs recorded" + (" match" if any((playbook, status, host, since)) else " yet")
        )
        return 0
    rows = [
        (
            r["id"],
            format_time(r["started"]),
            r["status"] + (f" ({r['exit_code']})" if r["exit_code"] not in (None, 0) else ""),
            format_duration(r["duration"]),
            r["host_count"],
            r["failed_hosts"],
            r["playbook"],
            r["started_by"] + (f", resumed {r['resumes']}x" if r["resumes"] else ""),
        )
        for r in runs
    ]
    click.echo(
        table(("RUN", "STARTED", "STATUS", "DURATION", "HOSTS", "FAILED", "PLAYBOOK", "BY"), rows)
    )
    return 0


# -- show -----------------------------------------------------------------------------------


@click.command("show")
@click.argument("run_ref", metavar="RUN")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_obj
def show_command(obj: Any, run_ref: str, as_json: bool) -> int:
    """Summarise RUN (an id, a unique prefix, or 'last'): recap, failures, slowest tasks.

    For a running run, also how far it is: units done, % and the time left, judged by
    the last finished runs of the same playbook.
    """
    from corral.store.estimates import run_progress
    from corral.store.queries import run_summary

    store = open_store_for(obj)
    try:
        row = store.resolve_run(run_ref)
        summary = run_summary(store, row["id"])
        running = row["status"] in ("running", "queued")
        summary["progress"] = run_progress(store, row) if running else None
    finally:
        store.close()
    summary["run"] = shown_run(summary["run"])
    if as_json:
        _echo_json(summary)
    else:
        click.echo(render_summary(summary))
    return 0


def render_summary(summary: Mapping[str, Any]) -> str:
    """``corral show`` as text."""
    run = summary["run"]
    exit_code = "" if run["exit_code"] is None else f" (exit {run['exit_code']})"
    options = run["options"] or {}
    shown_options = " ".join(
        f"{k}={','.join(v) if isinstance(v, list) else v}"
        for k, v in options.items()
        if v not in (None, False, [], "") and not (k == "forks" and v == 100)
    )
    lines = [
        f"run       {run['id']}  {run['status']}{exit_code}",
        f"playbook  {run['playbook']}  (sha256 {run['playbook_hash'][:12]})",
        f"started   {format_time(run['started'])} by {run['started_by']} "
        f"({run['trigger'] or 'cli'}), pid {run['pid']} on {run['controller']}",
        f"ended     {format_time(run['ended'])}, {format_duration(run['duration'])} running"
        + (f", resumed {run['resumes']}x" if run["resumes"] else ""),
        f"units     {summary['units']['finished']} finished, "
        f"{summary['units']['ok']} ok or changed",
    ]
    if summary.get("progress") is not None:
        lines.append(f"progress  {progress_line(run['status'], summary['progress'])}")
    if shown_options:
        lines.append(f"options   {shown_options}")
    if run["argv"]:
        lines.append(f"command   {' '.join(run['argv'])}")
    lines += ["", "RECAP"]
    for host, counts in summary["recap"].items():
        lines.append(f"{host:<26} : " + "  ".join(f"{k}={v}" for k, v in counts.items()))
    failures = summary["failures"]
    if failures:
        lines += ["", f"FAILURES ({len(failures)})"]
        for failure in failures:
            item = (
                f" (item={json.dumps(failure['item'])})"
                if failure["item_index"] is not None
                else ""
            )
            lines.append(
                f"{failure['status']}: [{failure['host']}] TASK [{failure['task']}]{item}"
                f" after {failure['attempts']} attempt(s), {format_duration(failure['duration'])}"
            )
            for key, value in failure["output"].items():
                text = str(value)
                if "\n" in text:
                    lines.append(f"    {key}:")
                    lines.extend("      " + line for line in text.splitlines())
                else:
                    lines.append(f"    {key}: {text}")
    slowest = summary["slowest_tasks"]
    if slowest:
        lines += ["", "SLOWEST TASKS"]
        rows = [
            (
                format_duration(t["max_duration"]),
                format_duration(t["mean_duration"]),
                t["hosts"],
                t["slowest_host"],
                t["task"],
            )
            for t in slowest
        ]
        lines.append(table(("MAX", "MEAN", "HOSTS", "SLOWEST ON", "TASK"), rows))
    return "\n".join(lines)


def progress_line(status: str, progress: Mapping[str, Any]) -> str:
    """``running: 37/120 units (31%), about 2m10s left (from 5 past runs)``."""
    done = progress["units_done"]
    if not progress["past_runs"]:
        return f"{status}: {done} units done, no past runs to estimate from"
    text = f"{status}: {done}/{progress['units_expected']} units ({progress['percent']}%), "
    left = progress["seconds_left"]
    text += f"about {format_duration(left)} left" if left else "taking longer than its past runs"
    runs = progress["past_runs"]
    return text + f" (from {runs} past run{'s' if runs != 1 else ''})"


# -- logs -------------------------------------------------------------------------------------


@click.command("logs")
@click.argument("run_ref", metavar="RUN")
@click.option("--host", metavar="HOST", help="Only this host (glob).")
@click.option("--task", metavar="TASK", help="Only tasks whose name matches (glob, any case).")
@click.option(
    "--json", "as_json", is_flag=True, help="The stored events, one JSON object per line."
)
@click.option("-v", "--verbose", count=True, help="More detail: -v results, -vv task paths.")
@click.option(
    "-f",
    "--follow",
    is_flag=True,
    help="Keep printing a running (or queued) run's output until its recap; exit with "
    "the run's exit code. Ctrl-C stops following (exit 130), not the run.",
)
@click.pass_obj
def logs_command(
    obj: Any,
    run_ref: str,
    host: str | None,
    task: str | None,
    as_json: bool,
    verbose: int,
    follow: bool,
) -> int:
    """Print the output of RUN as it ran (an id, a unique prefix, or 'last')."""
    from corral.store.queries import run_events
    from corral_plugins.history.follow import follow_run, print_events

    store = open_store_for(obj)
    try:
        run_id = store.resolve_run(run_ref)["id"]
        if follow:
            return follow_run(
                obj, store, run_id, host=host, task=task, as_json=as_json, verbose=verbose
            )
        events = list(run_events(store, run_id, host=host, task=task))
    finally:
        store.close()
    print_events(obj, events, as_json=as_json, verbose=verbose)
    return 0


# -- stats ------------------------------------------------------------------------------------


@click.command("stats")
@click.option("--playbook", metavar="PATH", help="Only this playbook (path, file name or glob).")
@click.option("--since", metavar="WHEN", help="Only runs started since: an age (30d) or a date.")
@click.option(
    "--top",
    type=click.IntRange(1),
    default=10,
    show_default=True,
    help="Rows of slow tasks and failing hosts.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@click.pass_obj
def stats_command(
    obj: Any, playbook: str | None, since: str | None, top: int, as_json: bool
) -> int:
    """Per playbook: runs, success rate, durations; the slowest tasks; the hosts that fail most."""
    from corral.store.queries import stats

    store = open_store_for(obj)
    try:
        figures = stats(store, playbook=playbook, since=_since(since), top=top)
    finally:
        store.close()
    if as_json:
        _echo_json(figures)
    else:
        click.echo(render_stats(figures))
    return 0


def render_stats(figures: Mapping[str, Any]) -> str:
    """``corral stats`` as text."""
    if not figures["playbooks"]:
        return "no finished runs recorded"
    lines = ["PLAYBOOKS"]
    rows: list[tuple[Any, ...]] = [
        (
            p["playbook"],
            p["runs"],
            f"{p['success_rate'] * 100:.0f}%",
            p["failed"],
            p["interrupted"],
            format_duration(p["mean_duration"]),
            format_duration(p["p50_duration"]),
            format_duration(p["p95_duration"]),
        )
        for p in figures["playbooks"]
    ]
    lines.append(
        table(("PLAYBOOK", "RUNS", "SUCCESS", "FAILED", "INTERRUPTED", "MEAN", "P50", "P95"), rows)
    )
    if figures["slowest_tasks"]:
        lines += ["", "SLOWEST TASKS (per host, over all runs)"]
        rows = [
            (
                format_duration(t["mean_duration"]),
                format_duration(t["max_duration"]),
                t["runs"],
                t["failures"],
                t["task"],
                t["playbook"],
            )
            for t in figures["slowest_tasks"]
        ]
        lines.append(table(("MEAN", "MAX", "RUNS", "FAILURES", "TASK", "PLAYBOOK"), rows))
    if figures["failing_hosts"]:
        lines += ["", "HOSTS THAT FAIL MOST"]
        rows = [
            (h["host"], h["runs"], h["failed"], h["unreachable"], f"{h['failure_rate'] * 100:.0f}%")
            for h in figures["failing_hosts"]
        ]
        lines.append(table(("HOST", "RUNS", "FAILED", "UNREACHABLE", "FAILURE RATE"), rows))
    return "\n".join(lines)
