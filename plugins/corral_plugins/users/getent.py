"""The ``getent`` step: look entries up in the host's NSS databases, as facts.

Sets ``getent_<database>``: a mapping of each entry's first field to its other fields
(a list; a list of lists when a key appears more than once), as Ansible's module does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from corral import StepContext, StepResult
from corral_plugins.users.accounts import run

__all__ = ["getent"]

COLON_DATABASES = ("passwd", "shadow", "group", "gshadow")
MESSAGES = {
    1: "Missing arguments, or database unknown.",
    2: "One or more supplied key could not be found in the database.",
    3: "Enumeration not supported on this database.",
}


def getent(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Run ``getent DATABASE [KEY]`` and return its entries as ``getent_<database>``."""
    database, key = str(args["database"]), args.get("key")
    argv = ["getent", database, *([str(key)] if key is not None else [])]
    if args.get("service") is not None:
        argv += ["-s", str(args["service"])]
    split = args.get("split")
    if split is None and database in COLON_DATABASES:
        split = ":"
    result = run(ctx, argv)
    tree = f"getent_{database}"
    if result.rc == 0:
        entries: dict[str, Any] = {}
        seen: dict[str, int] = {}
        for line in result.stdout.splitlines():
            record = line.split(split)
            first, rest = record[0], record[1:]
            if first in seen:
                if seen[first] == 1:
                    entries[first] = [entries[first]]
                entries[first].append(rest)
                seen[first] += 1
            else:
                entries[first], seen[first] = rest, 1
        return StepResult(set_vars={tree: entries})
    msg = MESSAGES.get(result.rc, "Unexpected failure!")
    if result.rc == 2 and not args.get("fail_key", True):
        return StepResult(msg=msg, set_vars={tree: {str(key): None}})
    return StepResult(failed=True, msg=msg)
