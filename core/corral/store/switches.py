"""Triggers switched off (and on again) from the web UI or the API, kept in the store.

A row of ``trigger_switches`` per trigger ever switched, keyed as ``fires`` is (the
playbook and the trigger's key, :func:`corral.triggers.trigger_key`); a trigger with no
row is on. ``corral serve`` looks here on every fire, so a switch takes effect at once
and lasts across restarts; ``corral triggers`` shows it.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from corral.store.db import Store

__all__ = ["switch_trigger", "trigger_enabled", "trigger_switches"]


def trigger_enabled(store: Store, playbook: str, trigger: str) -> bool:
    """Whether the trigger may fire (on unless switched off)."""
    row = store.conn.execute(
        "SELECT enabled FROM trigger_switches WHERE playbook = ? AND trigger = ?",
        (playbook, trigger),
    ).fetchone()
    return row is None or bool(row[0])


def switch_trigger(store: Store, playbook: str, trigger: str, *, enabled: bool, by: str) -> bool:
    """Switch the trigger on or off; whether that changed anything."""
    with store.transaction() as conn:
        row = conn.execute(
            "SELECT enabled FROM trigger_switches WHERE playbook = ? AND trigger = ?",
            (playbook, trigger),
        ).fetchone()
        if (row is None or bool(row[0])) == enabled:
            return False
        conn.execute(
            "INSERT INTO trigger_switches (playbook, trigger, enabled, changed, changed_by)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (playbook, trigger) DO UPDATE SET"
            " enabled = excluded.enabled, changed = excluded.changed,"
            " changed_by = excluded.changed_by",
            (playbook, trigger, int(enabled), time.time(), by),
        )
        return True


def trigger_switches(store: Store) -> dict[tuple[str, str], dict[str, Any]]:
    """Every switched trigger: (playbook, trigger) -> enabled, changed, changed_by."""
    return {
        (playbook, trigger): {"enabled": bool(enabled), "changed": changed, "changed_by": by}
        for playbook, trigger, enabled, changed, by in store.conn.execute(
            "SELECT playbook, trigger, enabled, changed, changed_by FROM trigger_switches"
        )
    }
