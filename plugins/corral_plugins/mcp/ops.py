"""What each MCP tool does, as plain functions of a :class:`Backend` and a :class:`Caller`.

No MCP in here: ``tools.py`` registers these with the SDK, records each call, and turns
a :class:`Refused` or a :class:`~corral.errors.CorralError` into a one-line tool error.
The read tools answer what the JSON API and ``corral check``/``plan``/``inventory``
answer, from the same functions (``corral_plugins.server.views``, ``corral.store``).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from corral.errors import CorralError, UsageError

if TYPE_CHECKING:
    from corral.engine.options import RunOptions
    from corral.engine.prepare import PreparedRun
    from corral_plugins.mcp.backend import Backend
    from corral_plugins.server.project import Served

ENDED = ("succeeded", "failed", "cancelled", "interrupted")


class Refused(CorralError):
    """A call the server's flags (stdio) or the token's scope (HTTP) do not allow."""


@dataclass(frozen=True)
class Caller:
    """Who calls and what they may do."""

    client: str  # the MCP client's name (clientInfo), plus the token's label over HTTP
    label: str  # recorded as the run's starter and an approval's answerer
    allow_run: bool
    playbooks: str  # a glob: which playbooks ``run`` may start
    allow_approve: bool
    why_not_run: tuple[str, str]  # (message, hint) when run is refused
    why_not_approve: tuple[str, str]


def _refuse(why: tuple[str, str]) -> Refused:
    return Refused(why[0], hint=why[1])


# -- playbooks ---------------------------------------------------------------------------


def list_playbooks(backend: Backend, caller: Caller) -> dict[str, Any]:
    from corral_plugins.server.views import playbook_rows

    rows = playbook_rows(backend.project())
    for row in rows:
        row["runnable"] = _may_run(caller, row["name"]) and not row.get("error")
    return {"playbooks": rows}


def describe_playbook(backend: Backend, caller: Caller, playbook: str) -> dict[str, Any]:
    from corral_plugins.server.views import params_schema

    served = _served(backend, playbook)
    return {
        "playbook": playbook,
        "plays": [
            {
                "name": play.name,
                "hosts": play.hosts,
                "tasks": len(play.pre_tasks) + len(play.tasks) + len(play.post_tasks),
            }
            for play in served.playbook.plays
        ],
        "params": params_schema(served.params),
        "triggers": [{"kind": e.kind, "key": e.key, "play": e.play} for e in served.entries],
        "runnable": _may_run(caller, playbook),
    }


def check(
    backend: Backend,
    playbook: str,
    inventory: str | None,
    params: Mapping[str, Any],
    limit: str | None,
) -> dict[str, Any]:
    """As ``corral check``: ``ok`` with counts and warnings, or the error and its hint."""
    try:
        prepared, _ = _prepare(backend, playbook, inventory, params, limit)
    except Refused:
        raise
    except CorralError as exc:
        return {"ok": False, "error": str(exc), "hint": exc.hint}
    plays = prepared.playbook.plays
    return {
        "ok": True,
        "plays": len(plays),
        "tasks": sum(prepared.task_count(p) for p in plays),
        "warnings": list(prepared.warnings),
    }


def plan(
    backend: Backend,
    playbook: str,
    inventory: str | None,
    params: Mapping[str, Any],
    limit: str | None,
) -> dict[str, Any]:
    """As ``corral plan --output json``: plays in DAG order, hosts, batches, tasks,
    estimates, and what the project's policy and the playbook's triggers say."""
    from corral.ansible_cfg import load_settings
    from corral.commands.plan import make_plan
    from corral.playbook.yaml.read import mark_unsafe

    found, _ = make_plan(
        _playbook_path(backend, playbook),
        backend.registry,
        backend.environ,
        settings=load_settings(backend.environ, backend.root),
        cwd=backend.root,
        inventories=_inventory(backend, inventory),
        limit=limit,
        params=mark_unsafe(dict(params)),  # a client's strings are data, never templates
        recorded_as=playbook,
    )
    found["playbook"] = playbook  # as the project names it
    return found


def _prepare(
    backend: Backend,
    playbook: str,
    inventory: str | None,
    params: Mapping[str, Any],
    limit: str | None,
) -> tuple[PreparedRun, RunOptions]:
    """The playbook loaded and checked against the inventory and params, as ``corral
    check`` and ``plan`` do (in the project, with its ``ansible.cfg``)."""
    from corral.ansible_cfg import load_settings
    from corral.commands.connect import ConnectArgs, forks, host_defaults, inventory_sources
    from corral.engine.options import RunOptions
    from corral.engine.prepare import prepare_run
    from corral.playbook.yaml.read import mark_unsafe

    path = _playbook_path(backend, playbook)
    settings = load_settings(backend.environ, backend.root)
    options = RunOptions(
        limit=limit,
        forks=forks(None, settings),
        host_defaults=host_defaults(settings, ConnectArgs(), cwd=backend.root, ask=False),
    )
    sources = inventory_sources(_inventory(backend, inventory), settings, backend.environ)
    # A client's strings are data, never templates (as a worker's params: workers.py).
    given = mark_unsafe(dict(params))
    prepared = prepare_run(
        path, sources, backend.registry, options, backend.environ, params=given, settings=settings
    )
    return prepared, options


def _playbook_path(backend: Backend, playbook: str) -> Path:
    from corral_plugins.server.views import playbook_file

    path = playbook_file(backend.root, playbook)
    if path is None:
        raise UsageError(
            f"no playbook {playbook!r} in the project {backend.root}",
            hint="list_playbooks names them, relative to the project directory",
        )
    return path


# -- runs --------------------------------------------------------------------------------


def run(
    backend: Backend,
    caller: Caller,
    playbook: str,
    params: Mapping[str, Any],
    inventory: str | None,
    limit: str | None,
    check_mode: bool,
) -> dict[str, Any]:
    """Queue a run (its params checked first) and return its id at once."""
    from corral.playbook.params import resolve_params

    if not caller.allow_run:
        raise _refuse(caller.why_not_run)
    if not fnmatch.fnmatchcase(playbook, caller.playbooks):
        raise Refused(
            f"playbook {playbook!r} may not be run through MCP here",
            hint=f"runnable playbooks match {caller.playbooks!r} (see list_playbooks)",
        )
    served = _served(backend, playbook)
    if inventory and not backend.takes_inventory:
        raise UsageError(
            "inventory is not taken over HTTP: a run under corral serve uses the project's",
            hint="leave it out, or use corral mcp over stdio to run with another inventory",
        )
    resolve_params(served.params, params)  # a ParamsError names the param and its fix
    options = {"limit": limit, "check": check_mode} if limit or check_mode else {}
    sources = _inventory(backend, inventory) if inventory else None
    run_id = backend.start_run(playbook, params, caller.label, sources, options)
    return {"run_id": run_id, "status": "queued"}


def run_status(backend: Backend, run_ref: str) -> dict[str, Any]:
    """The run's record, recap, failures and slowest tasks; its progress while it runs."""
    from corral.store.estimates import run_progress
    from corral.store.queries import run_summary

    store = backend.store()
    row = store.resolve_run(run_ref)
    summary = run_summary(store, row["id"])
    if row["status"] == "running":
        summary["progress"] = run_progress(store, row)
    summary["ended"] = row["status"] in ENDED
    return summary


def run_events(backend: Backend, run_ref: str, cursor: int, limit: int) -> dict[str, Any]:
    """The run's events after ``cursor`` (-1: from the start), at most ``limit``; the
    returned cursor is for the next call."""
    from corral.store.queries import events_after

    store = backend.store()
    row = store.resolve_run(run_ref)  # read first: once final, the events below are all
    found = events_after(store, row["id"], cursor)
    more = len(found) > limit
    found = found[:limit]
    return {
        "run_id": row["id"],
        "status": row["status"],
        "events": [event for _, event in found],
        "cursor": found[-1][0] if found else cursor,
        "more": more,
        "ended": row["status"] in ENDED and not more,
    }


def run_logs(backend: Backend, run_ref: str, lines: int) -> dict[str, Any]:
    """The last ``lines`` lines of the run's log (as ``GET /runs/RUN/logs``)."""
    from corral_plugins.server.views import log_text

    store = backend.store()
    row = store.resolve_run(run_ref)
    text = log_text(store, row["id"], backend.worker_output(row["id"]))
    all_lines = text.splitlines()
    kept = all_lines[-lines:] if lines > 0 else all_lines
    return {
        "run_id": row["id"],
        "status": row["status"],
        "text": "\n".join(kept) + "\n",
        "lines_left_out": len(all_lines) - len(kept),
    }


def cancel(
    backend: Backend, caller: Caller, run_ref: str, now: bool, grace: float | None
) -> dict[str, Any]:
    """Ask the run to wind down (or, ``now``, abort), as ``corral cancel``."""
    from corral.store.control import request_cancel

    store = backend.store()
    run_id = _run_to_act_on(backend, caller, run_ref)["id"]
    outcome = request_cancel(store, run_id, by=caller.label, grace=None if now else grace, now=now)
    backend.wake()
    row = store.run_row(run_id) or {}
    return {"run_id": run_id, "status": row.get("status"), "asked": asdict(outcome)}


def resume(backend: Backend, caller: Caller, run_ref: str) -> dict[str, Any]:
    """Resume a failed, interrupted or cancelled run in a worker (``corral resume``)."""
    from corral_plugins.server.views import resume_refusal

    row = _run_to_act_on(backend, caller, run_ref)
    refusal = resume_refusal(row)
    if refusal:
        raise UsageError(refusal, hint="see run_status for how it ended")
    backend.resume(row["id"], caller.label)
    return {"run_id": row["id"], "status": "resuming"}


# -- approvals, inventory, history -----------------------------------------------------------


def list_approvals(backend: Backend, caller: Caller) -> dict[str, Any]:
    from corral.store.approvals import waiting

    return {"approvals": waiting(backend.store()), "can_answer": caller.allow_approve}


def answer_approval(
    backend: Backend, caller: Caller, approval_id: int, approve: bool, comment: str
) -> dict[str, Any]:
    from corral.store.approvals import answer

    if not caller.allow_approve:
        raise _refuse(caller.why_not_approve)
    done = answer(backend.store(), approval_id, approved=approve, by=caller.label, comment=comment)
    if not done:
        raise UsageError(
            f"approval {approval_id} is not pending", hint="list_approvals shows those waiting"
        )
    return {"id": approval_id, "status": "approved" if approve else "rejected", "by": caller.label}


def inventory(
    backend: Backend, source: str | None, host: str | None, limit: str | None
) -> dict[str, Any]:
    """Groups and hosts (as ``corral inventory --list`` without variables), or one
    host's variables with passwords, vaulted values and secrets redacted."""
    from corral.ansible_cfg import load_settings
    from corral.commands.connect import inventory_sources
    from corral.inventory import load_inventory
    from corral.inventory.output import host_data, list_data
    from corral.store.records import redact_passwords, redacted

    settings = load_settings(backend.environ, backend.root)
    loaded = load_inventory(
        inventory_sources(_inventory(backend, source), settings, backend.environ),
        plugin_sources=tuple(getattr(backend.registry, "inventory_sources", ())),
        environ=backend.environ,
        cwd=backend.root,
    )
    if host is None:
        groups = list_data(loaded, limit=limit)
        groups.pop("_meta", None)  # the variables: per host, redacted, with host=
        return {"groups": groups, "hosts": loaded.select("all", limit=limit)}
    matched = loaded.select(host)
    if len(matched) != 1:
        raise UsageError(
            f"host {host!r} matches {len(matched)} hosts; one is needed",
            hint="call inventory without host to see the hosts",
        )
    shown = redact_passwords(redacted(_hide_vaulted(host_data(loaded, matched[0]))))
    return {"host": matched[0], "vars": shown}


def _hide_vaulted(value: Any) -> Any:
    from corral.secrets import REDACTED

    if isinstance(value, Mapping):
        if "__ansible_vault" in value:
            return REDACTED
        return {k: _hide_vaulted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_hide_vaulted(v) for v in value]
    return value


def history(
    backend: Backend, playbook: str | None, status: str | None, host: str | None, limit: int
) -> dict[str, Any]:
    from corral.store.queries import history as runs

    found = runs(backend.store(), playbook=playbook, status=status, host=host, limit=limit)
    return {"runs": found}


def stats(backend: Backend, playbook: str | None, top: int) -> dict[str, Any]:
    from corral.store.queries import stats as playbook_stats

    return playbook_stats(backend.store(), playbook=playbook, top=top)


# -- helpers ---------------------------------------------------------------------------------


def _may_run(caller: Caller, playbook: str) -> bool:
    return caller.allow_run and fnmatch.fnmatchcase(playbook, caller.playbooks)


def _run_to_act_on(backend: Backend, caller: Caller, run_ref: str) -> dict[str, Any]:
    """The run ``run_ref`` names, when the caller may cancel or resume it: with
    --allow-run (or a run token), and of a playbook the glob lets it run."""
    if not caller.allow_run:
        raise _refuse(caller.why_not_run)
    row = backend.store().resolve_run(run_ref)
    if not fnmatch.fnmatchcase(str(row["playbook"]), caller.playbooks):
        raise Refused(
            f"run {row['id']} is of {row['playbook']!r}, which MCP may not act on here",
            hint=f"runnable playbooks match {caller.playbooks!r}",
        )
    return row


def _served(backend: Backend, playbook: str) -> Served:
    served = backend.served(playbook)
    if served is not None:
        return served
    error = backend.project().errors.get(playbook)
    if error:
        raise UsageError(f"playbook {playbook!r} does not load: {error}")
    raise UsageError(
        f"no playbook {playbook!r} in the project",
        hint="list_playbooks names them, relative to the project directory",
    )


def _inside(root: Path, name: str) -> Path:
    path = (root / name).resolve()
    if not path.is_relative_to(root) or not path.exists():
        raise UsageError(
            f"no inventory {name!r} in the project {root}",
            hint="give an inventory file or directory relative to the project directory",
        )
    return path


def _inventory(backend: Backend, given: str | None) -> list[str]:
    """The ``-i`` for ``given`` (a path inside the project: an inventory script there
    runs), else the project's (none when ``ansible.cfg`` names it)."""
    from corral_plugins.server.project import project_inventory

    if given:
        return [str(_inside(backend.root, given))]
    return project_inventory(backend.root, backend.environ)
