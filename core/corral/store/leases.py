"""Host and resource leases: two runs never work on the same host (or named lock) at once.

Not to be confused with :mod:`corral.store.lease`, the claim ``corral resume`` takes on
a *run*. A lease here is a row of the ``leases`` table: a name (``host:web1`` for each
host a run targets, ``lock:db`` for each name under a play's ``locks:``), the run that
holds it, that run's pid and controller (hostname) and a heartbeat the run's store
writer refreshes together with the run's own.

A run takes all its names in one ``BEGIN IMMEDIATE`` transaction or none of them, so
two runs that want overlapping names can never each hold a part and wait for the other.
Before looking, the same transaction deletes the leases nobody holds any more: the
holder's pid is gone on this controller, its heartbeat is older than
:data:`~corral.store.db.STALE_AFTER`, or its run row ended. A run gives its leases back
when it ends (:func:`~corral.store.db.finish_run_in` deletes them, and that is also how
a run :meth:`~corral.store.db.Store.refresh_liveness` finds dead loses them).

::

    names = lease_names(prepared.playbook, prepared.inventory, options)
    acquire_leases(store, run_id, names, pid=os.getpid(), wait=30.0, on_wait=print)
    ...                                   # the run; its writer refreshes the heartbeats
    release_leases(store, run_id)         # or finish_run_in, when the run is recorded
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from corral.errors import EXIT_INVALID, CorralError
from corral.store.db import STALE_AFTER, pid_alive

if TYPE_CHECKING:
    import sqlite3

    from corral.engine.options import RunOptions
    from corral.inventory import Inventory
    from corral.playbook.model import Playbook
    from corral.store.db import Store

__all__ = [
    "POLL_EVERY",
    "Holder",
    "LeaseHeld",
    "acquire_leases",
    "expire_leases",
    "held_error",
    "lease_names",
    "lease_rows",
    "refresh_leases",
    "release_leases",
    "shown_name",
    "try_leases",
]

POLL_EVERY = 0.5  # seconds between two looks while --wait-lock waits
# A lease of a run in one of these states is left over. Not ``queued``: a server's worker
# takes the leases of its queued run just before it marks the run running.
_ENDED = frozenset({"succeeded", "failed", "cancelled", "interrupted"})

_HOLDERS = """
    SELECT l.name, l.run_id, l.pid, l.controller, coalesce(r.playbook, '')
    FROM leases AS l LEFT JOIN runs AS r ON r.id = l.run_id
    WHERE l.name = ? AND l.run_id != ?
"""


class LeaseHeld(CorralError):
    """A host or named lock the run needs is held by another run (exit 4)."""

    exit_code = EXIT_INVALID


@dataclass(frozen=True)
class Holder:
    """Who holds a lease another run wants."""

    name: str
    run_id: str
    pid: int
    controller: str
    playbook: str = ""


def shown_name(name: str) -> str:
    """``host:web1`` as ``host web1``, ``lock:db`` as ``lock db``: how messages name a lease."""
    kind, _, rest = name.partition(":")
    return f"{kind} {rest}" if rest else name


def lease_names(playbook: Playbook, inventory: Inventory, options: RunOptions) -> list[str]:
    """The lease names a run of ``playbook`` takes: its hosts, then its plays' ``locks:``.

    Hosts are those of every play's pattern within ``--limit`` (and, for a resumed run
    limited to some hosts, those), as the engine selects them. Hosts known only while
    the run goes (a templated pattern, ``add_host``) are not leased.
    """
    limit_hosts = options.resume.limit_hosts if options.resume is not None else None
    hosts: list[str] = []
    for play in playbook.plays:
        pattern = play.hosts if isinstance(play.hosts, str) else ",".join(play.hosts)
        if "{{" in pattern:
            continue
        selected = inventory.select(play.hosts, limit=options.limit)
        hosts.extend(h for h in selected if limit_hosts is None or h in limit_hosts)
    locks = [name for play in playbook.plays for name in play.locks]
    return list(dict.fromkeys([*(f"host:{h}" for h in hosts), *(f"lock:{n}" for n in locks)]))


def expire_leases(conn: sqlite3.Connection, now: float | None = None) -> int:
    """Delete the leases whose holder is gone; returns how many. Call inside a transaction.

    Gone: its pid no longer runs on this controller, its heartbeat is older than
    :data:`STALE_AFTER`, or its run's row says it ended. A lease whose run row does not
    exist yet (or is still ``queued``) is kept while its holder lives: a run takes its
    leases just before it records its start.
    """
    now = time.time() if now is None else now
    here = socket.gethostname()
    alive: dict[int, bool] = {}  # a run holds many leases: look at each pid once

    def dead(pid: int) -> bool:
        if pid not in alive:
            alive[pid] = pid_alive(pid)
        return not alive[pid]

    gone = [
        (name,)
        for name, pid, controller, heartbeat, status in conn.execute(
            "SELECT l.name, l.pid, l.controller, l.heartbeat, r.status"
            " FROM leases AS l LEFT JOIN runs AS r ON r.id = l.run_id"
        ).fetchall()
        if (controller == here and dead(int(pid)))
        or heartbeat < now - STALE_AFTER
        or status in _ENDED
    ]
    conn.executemany("DELETE FROM leases WHERE name = ?", gone)
    return len(gone)


def try_leases(store: Store, run_id: str, names: Sequence[str], *, pid: int) -> Holder | None:
    """Take every name for ``run_id`` in one transaction; or the first one held, taking none."""
    here = socket.gethostname()
    now = time.time()
    with store.transaction() as conn:
        expire_leases(conn, now)
        for name in names:
            row = conn.execute(_HOLDERS, (name, run_id)).fetchone()
            if row is not None:
                return Holder(row[0], row[1], int(row[2]), row[3], row[4])
        # Leases this run already holds (a resume taking over from its dead self) are renewed.
        conn.executemany(
            "INSERT OR REPLACE INTO leases (name, run_id, pid, controller, acquired, heartbeat)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [(name, run_id, pid, here, now, now) for name in names],
        )
    return None


def acquire_leases(
    store: Store,
    run_id: str,
    names: Sequence[str],
    *,
    pid: int,
    wait: float = 0.0,
    on_wait: Callable[[Holder], None] | None = None,
) -> None:
    """Take all of ``names`` for ``run_id``, waiting up to ``wait`` seconds for holders to end.

    ``on_wait`` is called once, with the first holder, when the run starts waiting.
    Raises :class:`LeaseHeld` naming the holder of the first name still held.
    """
    if not names:
        return
    deadline = time.monotonic() + max(0.0, wait)
    told = False
    while True:
        # A resumed run's row is held (store.lease) while it waits: keep it from going stale.
        store.heartbeat(run_id)
        # A holder found dead is marked interrupted (resumable), and loses its leases.
        store.refresh_liveness()
        holder = try_leases(store, run_id, names, pid=pid)
        if holder is None:
            return
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise held_error(holder, waited=wait)
        if not told and on_wait is not None:
            on_wait(holder)
            told = True
        time.sleep(min(POLL_EVERY, remaining))


def held_error(holder: Holder, *, waited: float) -> LeaseHeld:
    """The one-line error for a lease still held: what, by which run, where; how to go on."""
    after = f" after waiting {waited:g}s" if waited > 0 else ""
    return LeaseHeld(
        f"{shown_name(holder.name)} is held by run {holder.run_id}"
        f" (pid {holder.pid} on {holder.controller}){after}",
        hint=f"--wait-lock 5m to wait, or corral cancel {holder.run_id}",
    )


def refresh_leases(conn: sqlite3.Connection, run_id: str, now: float) -> None:
    """Renew the heartbeat of ``run_id``'s leases (the store writer, with the run's)."""
    conn.execute("UPDATE leases SET heartbeat = ? WHERE run_id = ?", (now, run_id))


def release_leases(store: Store, run_id: str) -> None:
    """Give back every lease ``run_id`` holds."""
    with store.transaction() as conn:
        conn.execute("DELETE FROM leases WHERE run_id = ?", (run_id,))


def lease_rows(store: Store, now: float | None = None) -> list[dict[str, Any]]:
    """The leases held now, oldest first, for ``corral locks`` and the server's API.

    Each row: ``name``, ``run_id``, ``playbook``, ``pid``, ``controller``, ``acquired``
    and ``heartbeat`` (epoch seconds), ``age`` and ``heartbeat_age`` (seconds). Leases of
    dead holders are cleared first, so what is listed is held.
    """
    now = time.time() if now is None else now
    with store.transaction() as conn:
        expire_leases(conn, now)
    rows = store.conn.execute(
        "SELECT l.name, l.run_id, coalesce(r.playbook, ''), l.pid, l.controller, l.acquired,"
        " l.heartbeat FROM leases AS l LEFT JOIN runs AS r ON r.id = l.run_id"
        " ORDER BY l.acquired, l.name"
    ).fetchall()
    return [
        {
            "name": name,
            "run_id": run_id,
            "playbook": playbook,
            "pid": pid,
            "controller": controller,
            "acquired": acquired,
            "heartbeat": heartbeat,
            "age": max(0.0, now - acquired),
            "heartbeat_age": max(0.0, now - heartbeat),
        }
        for name, run_id, playbook, pid, controller, acquired, heartbeat in rows
    ]
