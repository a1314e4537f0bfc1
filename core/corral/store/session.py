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
then the run takes no leases either. ``watch_control`` starts the thread that acts on a
cancel or pause asked of the run from another process (:mod:`corral.store.control`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from corral.store.control import ControlWatcher
from corral.store.db import Store, open_store, store_enabled
from corral.store.leases import Holder, acquire_leases, lease_names, release_leases
from corral.store.records import new_run_record
from corral.store.writer import StoreWriter

if TYPE_CHECKING:
    from corral.engine.options import RunOptions
    from corral.engine.prepare import PreparedRun
    from corral.engine.signals import StopControl

__all__ = ["start_recording", "watch_control"]


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
    queued: bool = False,
) -> tuple[RunOptions, StoreWriter | None]:
    """Record the start of a run; returns the options (with ``run_id`` set) and the store writer.

    A resumed run (``options.resume`` set, ``options.run_id`` naming the run) must have
    been claimed by this process (:func:`corral.store.lease.claim_run`); it is marked
    started again and appended to, or :class:`~corral.errors.UsageError` names the
    process that holds it now; any other run gets a new record with a snapshot
    of its playbook files and inventory, and its params (``prepared.params`` unless
    given) and extra vars, secrets redacted. Raises :class:`~corral.errors.StoreError`
    when the store cannot be opened or written. With ``queued``, ``options.run_id``
    names a run ``corral serve`` queued, whose row this run takes over.

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
                _record(store, environ, prepared, options, argv, trigger, params, queued)
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
    queued: bool,
) -> None:
    """Record a new run (or take over its queued row): its row, snapshot, params."""
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
    store.begin_run(record, queued=queued)


def watch_control(
    environ: Mapping[str, str], options: RunOptions, control: StopControl
) -> ControlWatcher:
    """Act on the cancel or pause asked of the recorded run ``options.run_id``.

    Call :meth:`~corral.store.control.ControlWatcher.close` when the run ends; a cancel
    without a grace period gets the run's ``--grace``.
    """
    return ControlWatcher(environ, options.run_id, control, grace=options.grace_period)
