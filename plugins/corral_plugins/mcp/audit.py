"""Every MCP call, allowed or refused, as a row of the store's ``audit`` table."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from corral.store.db import Store
    from corral_plugins.server.project import Served

__all__ = ["record", "redact_args"]


def redact_args(args: Mapping[str, Any], served: Served | None) -> dict[str, Any]:
    """``args`` with the values of the params the playbook declares ``secret`` hidden;
    all of them when the playbook is unknown (nothing says which are secret)."""
    from corral.secrets import REDACTED

    shown = dict(args)
    params = shown.get("params")
    if isinstance(params, Mapping):
        specs = served.params if served is not None else {}
        shown["params"] = {
            name: value if name in specs and not specs[name].secret else REDACTED
            for name, value in params.items()
        }
    return shown


def record(
    store: Store,
    *,
    client: str,
    action: str,
    args: Mapping[str, Any],
    outcome: str,
    run_id: str | None,
    channel: str = "mcp",
) -> None:
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO audit (time, channel, client, action, args, outcome, run_id)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                time.time(),
                channel,
                client,
                action,
                json.dumps(args, sort_keys=True, default=str),
                outcome,
                run_id,
            ),
        )
