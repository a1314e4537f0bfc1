"""Recording a run in the store: the two calls ``corral run`` and ``corral resume`` make.

::

    options, writer = start_recording(environ, prepared, options, argv=argv)
    try:
        run_playbook(..., options, [console, *([writer] if writer else [])], control)
    finally:
        if writer is not None:
            writer.close()

``start_recording`` gives the run its id (when it has none), records its start (or,
for a resumed run, marks it running again) and returns the writer to add to the run's
event writers; None when the store is off (``CORRAL_STORE=off`` or ``--no-store``), and
then the run takes no leases either.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from corral.store.db import Store, open_store, store_enabled
from corral.store.leases import Holder, acquire_leases, lease_names, release_leases
from corral.store.records import new_run_record
from corral.store.writer import StoreWriter

if TYPE_CHECKING:
    from corral.engine.options import RunOptions
    from corral.engine.prepare import PreparedRun

__all__ = ["start_recording"]


def start_recording(
    environ: Mapping[str, str],
    prepared: PreparedRun,
    options: RunOptions,
    *,
    argv: Sequence[str] = (),
    trigger: str = "cli",
    enabled: bool = True,
    params: Mapping[str, Any] | None = None,
    wait: float = 0.0,
    on_wait: Callable[[Holder], None] | None = None,
) -> tuple[RunOptions, StoreWriter | None]:
    """Record the start of a run; returns the options (with ``run_id`` set) and the store writer.

    A resumed run (``options.resume`` set, ``options.run_id`` naming the run) must have
    been claimed by this process (:func:`corral.store.lease.claim_run`); it is marked
    started again and appended to, or :class:`~corral.errors.UsageError` names the
    process that holds it now; any other run gets a new record with a snapshot
    of its playbook files and inventory, and its params (``prepared.params`` unless
    given) and extra vars, secrets redacted. Raises :class:`~corral.errors.StoreError`
    when the store cannot be opened or written.

    Before that, the run takes the leases of its hosts and ``locks:``
    (:mod:`corral.store.leases`), waiting up to ``wait`` seconds for another run to give
    them back (``on_wait`` is told once who holds one), else
    :class:`~corral.store.leases.LeaseHeld` names the holder and nothing is recorded.
    """
    if not enabled or not store_enabled(environ):
        return options, None
    if params is None:
        params = getattr(prepared, "params", None) or {}
    from corral.engine.run import new_run_id

    store = open_store(environ)
    try:
        resuming = options.resume is not None and bool(options.run_id)
        options = replace(options, run_id=options.run_id or new_run_id())
        # The hosts and locks first: a run that cannot have them stops before it is recorded.
        names = lease_names(prepared.playbook, prepared.inventory, options)
        acquire_leases(store, options.run_id, names, pid=os.getpid(), wait=wait, on_wait=on_wait)
        try:
            if resuming:
                # corral resume claimed the run before reading what to skip (store.lease):
                # only confirm that this process still holds it.
                store.resume_run(options.run_id, pid=os.getpid(), claimed=True)
            else:
                _record(store, environ, prepared, options, argv, trigger, params)
        except BaseException:
            release_leases(store, options.run_id)
            raise
    finally:
        store.close()  # the writer opens its own connection in its thread
    return options, StoreWriter(store, options.run_id)


def _record(
    store: Store,
    environ: Mapping[str, str],
    prepared: PreparedRun,
    options: RunOptions,
    argv: Sequence[str],
    trigger: str,
    params: Mapping[str, Any],
) -> None:
    """Record a new run: its row, snapshot, params."""
    playbook = prepared.playbook
    record = new_run_record(
        options.run_id,
        playbook.path,
        prepared.inventory,
        options,
        files=playbook.files,
        params=params,
        extra_vars=options.extra_vars,
        argv=argv,
        trigger=trigger,
        environ=environ,
    )
    store.begin_run(record)
