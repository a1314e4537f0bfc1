"""Continuing a run from the store: what it finished, and the files it ran from.

:func:`claim_resume` claims the run for this process (:mod:`corral.store.lease`), then
reads what the engine needs to skip finished units (a
:class:`~corral.engine.resume.ResumeState`) and the :class:`RunRecord` of the run;
:func:`materialize` writes the run's snapshot (playbook files and inventory) into a
directory, with the same relative layout, so the resumed run loads exactly what the
interrupted one ran, whatever has changed on disk since.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from corral.engine.resume import ResumeState
from corral.errors import UsageError
from corral.secrets import REDACTED, Secret
from corral.store.lease import Claim, claim_run, release_run
from corral.store.records import RunRecord

if TYPE_CHECKING:
    from corral.engine.options import RunOptions
    from corral.store.db import Store

__all__ = [
    "Materialized",
    "claim_resume",
    "materialize",
    "record_from_row",
    "release_resume",
    "resume_options",
    "resume_params",
]

ROLLBACK = "/rollback/"  # in a task uid: the tasks of a rollback list
_INVENTORY_SCRIPT = """#!/bin/sh
# The inventory of corral run {run_id}, as it ran (ansible-inventory --list shape).
if [ "$1" = "--host" ]; then echo '{{}}'; exit 0; fi
exec cat "$(dirname "$0")/inventory.json"
"""


@dataclass(frozen=True)
class Materialized:
    """Where a run's snapshot was written."""

    playbook: Path
    inventory: Path


def record_from_row(store: Store, row: Mapping[str, Any]) -> RunRecord:
    """The :class:`RunRecord` of a ``runs`` row, snapshot and inventory included."""
    return RunRecord(
        run_id=row["id"],
        playbook=row["playbook"],
        playbook_hash=row["playbook_hash"],
        snapshot=store.blob(row["playbook_hash"]) or {},
        inventory=store.blob(row["inventory_hash"]) or {},
        params=json.loads(row["params"]),
        extra_vars=json.loads(row["extra_vars"]),
        options=json.loads(row["options"]),
        started_by=row["started_by"],
        trigger=row["trigger"],
        argv=tuple(json.loads(row["argv"])),
        pid=int(row["pid"] or 0),
        started=float(row["started"]),
        playbook_file=row["playbook_file"],
        cwd=row["cwd"],
        controller=row["controller"],
    )


def claim_resume(
    store: Store, run_ref: str, *, failed_only: bool, pid: int
) -> tuple[Claim, RunRecord, ResumeState]:
    """Claim ``run_ref`` (an id, a unique prefix or ``last``) for process ``pid``, then read
    what a resumed run starts from.

    The claim comes first (:func:`corral.store.lease.claim_run`), so the finished units
    read here cannot change under this process: of two resumes racing for one run, one
    gets it, the other a :class:`~corral.errors.UsageError` naming the holder. Also
    raises it for a run that succeeded, whose snapshot is missing, or (with
    ``failed_only``) in which no host failed; the claim is then released.
    """
    row = store.resolve_run(run_ref)  # marks a run whose holder died interrupted
    run_id = row["id"]
    claim = claim_run(store, run_id, pid=pid)
    try:
        record, state = _load_resume(store, row, failed_only=failed_only)
    except BaseException:
        release_run(store, claim)
        raise
    return claim, record, state


def release_resume(environ: Mapping[str, str], claim: Claim) -> None:
    """Give back ``claim`` after a resume failed before its run started; never raises.

    Without this a run would look held until this process exits. A store that cannot
    be written leaves the claim, which is taken over once this process is gone.
    """
    from corral.errors import StoreError
    from corral.store.db import open_store

    try:
        store = open_store(environ)
    except StoreError:
        return
    try:
        release_run(store, claim)
    except (StoreError, sqlite3.Error):
        pass
    finally:
        store.close()


def _load_resume(
    store: Store, row: Mapping[str, Any], *, failed_only: bool
) -> tuple[RunRecord, ResumeState]:
    run_id = row["id"]
    record = record_from_row(store, row)
    if not record.snapshot or record.playbook_file not in record.snapshot:
        raise UsageError(
            f"run {run_id} has no playbook snapshot to resume from",
            hint="start a new run with 'corral run'",
        )
    rows = store.conn.execute(
        "SELECT unit_id, event_seq, status, data FROM units WHERE run_id = ?", (run_id,)
    ).fetchall()
    undone = rolled_back(rows)
    done: dict[str, dict[str, Any]] = {}
    for unit_id, _, status, data in rows:
        if status in ("ok", "changed") and unit_id not in undone:
            done[unit_id] = {"status": status, "result": json.loads(data).get("result") or {}}
    host_vars: dict[str, Any] = {}
    facts: dict[str, Any] = {}
    for host, variables, host_facts in store.conn.execute(
        "SELECT host, vars, facts FROM host_state WHERE run_id = ?", (run_id,)
    ):
        host_vars[host] = json.loads(variables)
        facts[host] = json.loads(host_facts)
    limit_hosts = _failed_hosts(store, run_id) if failed_only else None
    if limit_hosts is not None and not limit_hosts:
        raise UsageError(
            f"no host failed or was unreachable in run {run_id}",
            hint="resume without --failed-only",
        )
    source = os.path.dirname(os.path.realpath(os.path.join(record.cwd, record.playbook)))
    return record, ResumeState(
        done=done,
        host_vars=host_vars,
        facts=facts,
        limit_hosts=limit_hosts,
        source_dir=source if record.cwd else "",
    )


def rolled_back(rows: Iterable[Sequence[Any]]) -> set[str]:
    """The units a rollback undid, from ``(unit_id, event_seq, ...)`` rows: not finished.

    A rollback task's uid is its task's uid, then ``/rollback/``: it undoes that task on
    its host, or, under the play's own ``rollback:``, the whole play there. What the
    host did in that play from the first undone unit on ran against what the rollback
    took away, so it is not finished either. Rollback units are never finished: a
    resumed run that fails again rolls back again. A unit that ran again after the
    rollback (a later resume) is finished.
    """
    units = [(str(row[0]), int(row[1] or 0), *_task_and_host(str(row[0]))) for row in rows]
    undoing: dict[tuple[str, str], int] = {}  # (undone uid prefix, host) -> last rollback seq
    undone: set[str] = set()
    for unit_id, seq, task_uid, host in units:
        if ROLLBACK in task_uid:
            undone.add(unit_id)
            key = (task_uid.split(ROLLBACK)[0], host)
            undoing[key] = max(seq, undoing.get(key, seq))
    spans: dict[tuple[str, str], tuple[int, int]] = {}  # (play, host) -> undone seq range
    for _, seq, task_uid, host in units:
        for (prefix, rolled_host), rolled_seq in undoing.items():
            if host == rolled_host and seq < rolled_seq and _within(task_uid, prefix):
                key = (_play_of(task_uid), host)
                first, last = spans.get(key, (seq, rolled_seq))
                spans[key] = (min(first, seq), max(last, rolled_seq))
    for unit_id, seq, task_uid, host in units:
        span = spans.get((_play_of(task_uid), host))
        if span is not None and span[0] <= seq < span[1]:
            undone.add(unit_id)
    return undone


def _within(task_uid: str, prefix: str) -> bool:
    return task_uid == prefix or task_uid.startswith(prefix + "/")


def _play_of(task_uid: str) -> str:
    return task_uid.split("/", 1)[0]


def _task_and_host(unit_id: str) -> tuple[str, str]:
    """``play0/tasks/3@2.3#web1/0`` (see corral.engine.resume.unit_id): task uid and host."""
    task_uid, _, rest = unit_id.partition("@")
    host = rest.partition("#")[2]
    return task_uid, host.rsplit("/", 1)[0] if host.rsplit("/", 1)[-1].isdigit() else host


def _failed_hosts(store: Store, run_id: str) -> tuple[str, ...]:
    # run_hosts holds the recap, or (for a run whose process died) counts from its units.
    rows = store.conn.execute(
        "SELECT host FROM run_hosts"
        " WHERE run_id = ? AND (failed > 0 OR unreachable > 0) ORDER BY host",
        (run_id,),
    ).fetchall()
    return tuple(row[0] for row in rows)


def resume_params(record: RunRecord, given: Mapping[str, Any]) -> dict[str, Any]:
    """The run's params to resolve again: as stored, with ``given`` (``-p``) on top.

    Secret params are stored redacted, so they must be given again; raises
    :class:`~corral.errors.UsageError` naming any that are missing.
    """
    _require_secrets(record, record.params, given, "params", "-p")
    params = {k: v for k, v in record.params.items() if v != REDACTED}
    params.update(given)
    return params


def resume_options(
    record: RunRecord,
    state: ResumeState,
    given_vars: Mapping[str, Any],
    *,
    verbosity: int = 0,
    grace_period: float = 30.0,
) -> RunOptions:
    """The original run's options, continuing ``record.run_id`` from ``state``.

    Extra vars that were secrets are stored redacted, so they must be given again
    (``given_vars``, from ``-e``); they are wrapped as secrets again. Raises
    :class:`~corral.errors.UsageError` naming any that are missing.
    """
    from corral.engine.options import RunOptions

    secret_names = _require_secrets(record, record.extra_vars, given_vars, "extra vars", "-e")
    extra_vars = dict(record.extra_vars)
    for key, value in given_vars.items():
        extra_vars[key] = Secret(str(value)) if key in secret_names else value
    stored = record.options
    optional: dict[str, Any] = {}
    if stored.get("max_parallel_plays"):
        optional["max_parallel_plays"] = int(stored["max_parallel_plays"])
    # -u, -b, -c... of the original run; passwords (-k, -K) were not stored: give them with -e.
    defaults = stored.get("host_defaults") or {}
    optional["host_defaults"] = {k: v for k, v in defaults.items() if v != REDACTED}
    return RunOptions(
        check=bool(stored.get("check", False)),
        diff=bool(stored.get("diff", False)),
        forks=int(stored.get("forks") or 100),
        limit=stored.get("limit"),
        tags=frozenset(stored.get("tags") or ()),
        skip_tags=frozenset(stored.get("skip_tags") or ()),
        start_at_task=stored.get("start_at_task"),
        extra_vars=extra_vars,
        verbosity=verbosity,
        run_id=record.run_id,
        resume=state,
        grace_period=grace_period,
        **optional,
    )


def _require_secrets(
    record: RunRecord, stored: Mapping[str, Any], given: Mapping[str, Any], what: str, flag: str
) -> set[str]:
    """Names in ``stored`` that were secrets; raises if ``given`` lacks one of them."""
    secret_names = {k for k, v in stored.items() if v == REDACTED}
    missing = sorted(secret_names - set(given))
    if missing:
        raise UsageError(
            f"run {record.run_id} had secret {what}, which are not stored: " + ", ".join(missing),
            hint="give them again: " + " ".join(f"{flag} {name}=..." for name in missing),
        )
    return secret_names


def materialize(record: RunRecord, directory: Path) -> Materialized:
    """Write ``record``'s snapshot and inventory under ``directory``.

    Files that were outside the playbook's directory (``../common/x.yml``) keep their
    place relative to it: the playbook goes as many levels deep as needed. The
    inventory becomes an executable dynamic-inventory script printing the stored JSON.
    """
    keys = [PurePosixPath(key) for key in record.snapshot]
    depth = max((_leading_parents(key) for key in keys), default=0)
    root = directory.joinpath(*(["up"] * depth)) if depth else directory
    top = os.path.realpath(directory)
    for key, text in record.snapshot.items():
        target = Path(os.path.normpath(root / PurePosixPath(key)))
        if not os.path.realpath(target).startswith(top + os.sep):
            raise UsageError(f"run {record.run_id}: snapshot path {key!r} leaves the snapshot")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    inventory_dir = directory / ".inventory"
    inventory_dir.mkdir(parents=True, exist_ok=True)
    (inventory_dir / "inventory.json").write_text(json.dumps(record.inventory), encoding="utf-8")
    script = inventory_dir / "inventory.sh"
    script.write_text(_INVENTORY_SCRIPT.format(run_id=record.run_id), encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return Materialized(
        playbook=Path(os.path.normpath(root / record.playbook_file)), inventory=script
    )


def _leading_parents(path: PurePosixPath) -> int:
    count = 0
    for part in path.parts:
        if part != "..":
            break
        count += 1
    return count
