"""Following a run as it goes, from any process: its events as the store receives them.

The run's own process writes its events to the store in batches (see
:mod:`corral.store.writer`); a follower polls for events numbered above the last one
it has seen, every :data:`POLL_EVERY` seconds, until the run's row says it ended.
The writer records the run's end in the same transaction as its last events, so once
the status is final, one more read gets everything.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from corral.store.queries import events_after

if TYPE_CHECKING:
    from corral.store.db import Store

__all__ = ["ENDED", "LIVENESS_EVERY", "POLL_EVERY", "exit_code_of", "follow_events"]

POLL_EVERY = 0.3  # seconds between two reads of a running run's new events
READ_SHARE = 10  # at most 1/10 of the follower's time goes to reading...
MAX_PAUSE = 3.0  # ...but new lines still show within a few seconds
LIVENESS_EVERY = 5.0  # seconds between two checks that the run's process is alive
ENDED = ("succeeded", "failed", "cancelled", "interrupted")


def follow_events(
    store: Store,
    run_id: str,
    *,
    poll_every: float = POLL_EVERY,
    on_queued: Callable[[], None] | None = None,
) -> Iterator[dict[str, Any]]:
    """Every event of ``run_id``: those stored so far, then new ones as they come, until it ends.

    A ``queued`` run is waited for (``on_queued`` is called once, when the wait starts).
    A run whose process died is marked ``interrupted`` (:meth:`Store.refresh_liveness`,
    checked every :data:`LIVENESS_EVERY` seconds), which ends the stream too.
    """
    after = -1
    told_queued = False
    checked = time.monotonic()
    while True:
        # The status first: if it is final now, the events read next include the last.
        status = _status(store, run_id)
        read_at = time.monotonic()
        new = events_after(store, run_id, after)
        # Finding new result rows scans the run's units (keyed by unit, not by seq): on a
        # run with very many units, poll less often so the follower stays a light reader.
        # (Not after the first read, which decodes everything stored so far.)
        spent = time.monotonic() - read_at if after >= 0 else 0.0
        pause = min(MAX_PAUSE, max(poll_every, READ_SHARE * spent))
        for seq, event in new:
            after = seq
            yield event
        if status is None or status in ENDED:
            return
        if status == "queued" and on_queued is not None and not told_queued:
            told_queued = True
            on_queued()
        if time.monotonic() - checked >= LIVENESS_EVERY:
            checked = time.monotonic()
            store.refresh_liveness()
        time.sleep(pause)


def _status(store: Store, run_id: str) -> str | None:
    row = store.conn.execute("SELECT status FROM runs WHERE id = ?", (run_id,)).fetchone()
    return None if row is None else str(row[0])


def exit_code_of(run: Mapping[str, Any]) -> int:
    """The exit code ``corral run`` gave (or would give) the run: 0, 2, 3, 99..."""
    if run.get("exit_code") is not None:
        return int(run["exit_code"])
    return {"succeeded": 0, "failed": 2}.get(str(run.get("status")), 99)
