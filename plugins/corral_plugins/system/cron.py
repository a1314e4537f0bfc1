"""The ``cron`` step: Ansible's ``cron`` module, one named entry of a crontab.

A user's crontab is read with ``crontab -l`` and written with ``crontab -`` (``-u USER``
when the entry is for another user than the one the task runs as); ``cron_file`` manages
a file in ``/etc/cron.d`` (or an absolute path) instead, whose entries name their user.
Entries carry Ansible's ``#Ansible: NAME`` marker lines, so the text is the same as
Ansible writes and both tools manage each other's entries.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from typing import Any

from corral import StepContext, StepFailed, StepResult
from corral_plugins.system.crontab import CronTab, strip_crontab_header
from corral_plugins.system.hostio import read_text, run, write_text

__all__ = ["cron"]

_TIME_FIELDS = ("minute", "hour", "day", "month", "weekday")
_ALIASES = {"day": "dom", "weekday": "dow"}


def _fail(msg: str) -> StepResult:
    return StepResult(failed=True, msg=msg)


def _check_args(args: Mapping[str, Any], times: Mapping[str, str]) -> str | None:
    """Why the arguments cannot work together (Ansible's messages), or None."""
    present = args.get("state", "present") == "present"
    cron_file: str = args.get("cron_file") or ""
    inserting = bool(args.get("insertafter") or args.get("insertbefore"))
    problems = (
        (
            bool(args.get("insertafter") and args.get("insertbefore")),
            "parameters are mutually exclusive: insertafter|insertbefore",
        ),
        (
            bool(cron_file) and posixpath.normpath(cron_file) == "/etc/crontab",
            "Will not manage /etc/crontab via cron_file, see documentation.",
        ),
        (
            bool(args.get("special_time")) and any(v != "*" for v in times.values()),
            "You cannot combine special_time with any of the time or day/date parameters.",
        ),
        (
            present and bool(cron_file) and not args.get("user"),
            "To use cron_file=... parameter you must specify user=... as well",
        ),
        (
            present and _job(args) is None,
            "You must specify 'job' to install a new cron job or variable",
        ),
        (
            present and inserting and not args.get("env"),
            "Insertafter and insertbefore parameters are valid only with env=yes",
        ),
        (
            bool(args.get("env")) and " " in args["name"],
            "Invalid name for environment variable",
        ),
    )
    return next((msg for bad, msg in problems if bad), None)


def _job(args: Mapping[str, Any]) -> str | None:
    job = args.get("job")
    return job if job is not None else args.get("value")


class _Target:
    """Where the crontab lives: a user's crontab (through crontab(1)) or a file."""

    def __init__(self, ctx: StepContext, args: Mapping[str, Any]) -> None:
        self.ctx = ctx
        self.user: str | None = args.get("user")
        cron_file: str = args.get("cron_file") or ""
        self.given = cron_file
        self.path = (
            None if not cron_file else posixpath.join("/etc/cron.d", cron_file)
        )  # join keeps an absolute cron_file as it is
        self.flags: list[str] = []
        if self.path is None and self.user:
            me = run(ctx, ["id", "-un"]).stdout.strip()
            if me != self.user:
                self.flags = ["-u", self.user]

    @property
    def header(self) -> str:
        if self.path:
            return self.path
        return f'crontab for user "{self.user}"' if self.user else "crontab"

    def read(self) -> tuple[str, list[str]]:
        if self.path is not None:
            text = read_text(self.ctx, self.path) or ""
            return text, text.splitlines()
        result = run(self.ctx, ["crontab", *self.flags, "-l"])
        if result.rc not in (0, 1) or result.timed_out:
            raise StepFailed(f"Unable to read crontab: {result.stderr.strip()}")
        return strip_crontab_header(result.stdout if result.rc == 0 else "")

    def write(self, text: str) -> None:
        if self.path is not None:
            write_text(self.ctx, self.path, text)
            return
        result = run(self.ctx, ["crontab", *self.flags, "-"], stdin=text)
        if result.rc != 0 or result.timed_out:
            raise StepFailed(f"Failed to install new crontab: {result.stderr.strip()}")

    def backup(self, text: str) -> str:
        made = run(self.ctx, ["mktemp", "-t", "crontabXXXXXXXX"])
        if made.rc != 0:
            raise StepFailed(f"cannot make a backup file: {made.stderr.strip()}")
        path = made.stdout.strip()
        write_text(self.ctx, path, text, mode=0o600)
        return path


def cron(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Add, change or remove one named job or variable of a crontab."""
    times: dict[str, str] = {}
    for name in _TIME_FIELDS:
        value = args.get(name, args.get(_ALIASES.get(name, ""), "*"))
        times[name] = str(value)
    problem = _check_args(args, times)
    if problem:
        return _fail(problem)
    try:
        return _cron(ctx, args, times)
    except StepFailed as exc:
        return _fail(exc.message)


def _entry(target: _Target, args: Mapping[str, Any], times: Mapping[str, str]) -> str:
    """The crontab line for the job, as Ansible writes it."""
    job = (_job(args) or "").strip("\r\n")
    prefix = "#" if args.get("disabled") else ""
    user = f" {target.user}" if target.path else ""
    if args.get("special_time"):
        return f"{prefix}@{args['special_time']}{user} {job}"
    fields = " ".join(times[f] for f in _TIME_FIELDS)
    return f"{prefix}{fields}{user} {job}"


def _cron(ctx: StepContext, args: Mapping[str, Any], times: Mapping[str, str]) -> StepResult:
    present = args.get("state", "present") == "present"
    target = _Target(ctx, args)
    existing, lines = target.read()
    tab = CronTab(lines)
    if args.get("env"):
        changed = _edit_env(tab, args, present)
    elif present:
        changed = _edit_job(tab, args["name"], _entry(target, args, times))
    else:
        changed = bool(tab.find_job(args["name"]))
        tab.replace_job(args["name"], None)
        if changed and target.path and tab.is_empty():
            return _remove_file(ctx, target, existing)
    if not changed and existing and not existing.endswith(("\r", "\n")):
        changed = True
    data: dict[str, Any] = {"jobs": tab.job_names(), "envs": tab.env_names()}
    if args.get("cron_file"):
        data["cron_file"] = args["cron_file"]
    diff = None
    if changed:
        if ctx.diff:
            after = tab.render()
            diff = {"before": existing, "after": after, "before_header": target.header}
            diff["after_header"] = target.header
        if not ctx.check_mode:
            if args.get("backup"):
                data["backup_file"] = target.backup(existing)
            target.write(tab.render())
    return StepResult(changed=changed, diff=diff, data=data)


def _edit_env(tab: CronTab, args: Mapping[str, Any], present: bool) -> bool:
    """Add, change or remove the variable; whether the crontab changed."""
    name = args["name"]
    decl = f'{name}="{_job(args)}"'
    old = tab.find_env(name)
    if present and old is None:
        try:
            tab.add_env(decl, args.get("insertafter"), args.get("insertbefore"))
        except KeyError as exc:
            raise StepFailed(f"Variable named '{exc.args[0]}' not found.") from None
        return True
    if old is None or (present and old[1] == decl):
        return False
    tab.replace_env(name, decl if present else None)
    return True


def _edit_job(tab: CronTab, name: str, entry: str) -> bool:
    """Add or change the job named ``name``; whether the crontab changed."""
    old_job = tab.find_job(name, entry)
    if not old_job:
        tab.add_job(name, entry)
        return True
    if old_job[1] != entry or len(old_job) > 2:
        tab.replace_job(name, entry)
        return True
    return False


def _remove_file(ctx: StepContext, target: _Target, existing: str) -> StepResult:
    """The last entry of a cron_file went: the file goes too, as in Ansible."""
    assert target.path is not None
    diff = None
    if ctx.diff:
        diff = {"before": existing, "before_header": target.path}
        diff.update(after="", after_header="/dev/null")
    if not ctx.check_mode:
        result = run(ctx, ["rm", "-f", "--", target.path])
        if result.rc != 0:
            raise StepFailed(f"cannot remove {target.path}: {result.stderr.strip()}")
    data = {"cron_file": target.given, "state": "absent"}
    return StepResult(changed=True, diff=diff, data=data)
