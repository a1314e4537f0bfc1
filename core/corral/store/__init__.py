"""The run store: every run, its units and events, in one SQLite file (see ``docs/store.md``).

::

    store = open_store(environ)                 # $CORRAL_HOME/corral.db, WAL, migrated
    store.begin_run(new_run_record(...))        # before the engine starts
    writer = StoreWriter(store, run_id)         # an event sink: writer(event), flush(), close()

``corral resume`` reads it through :mod:`corral.store.resume`; the built-in
``history`` plugin (``corral history``, ``show``, ``logs``, ``stats``, ``report``,
``prune``) and any other reader go through :mod:`corral.store.queries` and
:mod:`corral.store.retention`. The hosts and locks running runs hold are in
:mod:`corral.store.leases` (``lease_rows`` lists them). Importing this package
does no I/O and imports no SQLite library.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from corral.errors import StoreError
    from corral.store.db import Store, open_store, store_enabled, store_path
    from corral.store.records import RunRecord, new_run_record, snapshot_files
    from corral.store.writer import StoreWriter

# Names are imported on first use, so that a command importing one small module of
# the package (``corral.store.retention``) does not load the database layer with it.
_HOMES = {
    "RunRecord": "corral.store.records",
    "Store": "corral.store.db",
    "StoreError": "corral.errors",
    "StoreWriter": "corral.store.writer",
    "new_run_record": "corral.store.records",
    "open_store": "corral.store.db",
    "snapshot_files": "corral.store.records",
    "store_enabled": "corral.store.db",
    "store_path": "corral.store.db",
}


def __getattr__(name: str) -> Any:
    module = _HOMES.get(name)
    if module is None:
        raise AttributeError(f"module 'corral.store' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = [
    "RunRecord",
    "Store",
    "StoreError",
    "StoreWriter",
    "new_run_record",
    "open_store",
    "snapshot_files",
    "store_enabled",
    "store_path",
]
