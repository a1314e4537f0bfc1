"""The chain of task files an include sits in: no cycles, and a bounded depth.

The chain travels with every include, static or dynamic (``Include.stack``), so a file
that includes itself through a template is refused as a static cycle is, instead of
recursing until the controller runs out of stack.
"""

from __future__ import annotations

from pathlib import Path

from corral.errors import Location, PlaybookError

__all__ = ["MAX_INCLUDE_DEPTH", "check_include_chain"]

MAX_INCLUDE_DEPTH = 64
"""How deep includes may nest (Ansible sets no limit; see docs/playbooks.md)."""


def check_include_chain(resolved: Path, stack: tuple[Path, ...], where: Location) -> None:
    """Refuse including ``resolved`` inside ``stack``: a cycle, or nesting past the limit."""
    if resolved in stack:
        chain = " -> ".join(p.name for p in (*stack, resolved))
        raise PlaybookError(
            f"include cycle: {chain}",
            hint="a task file cannot include itself, directly or not",
            location=where,
        )
    if len(stack) >= MAX_INCLUDE_DEPTH:
        names = [p.name for p in (*stack, resolved)]
        raise PlaybookError(
            f"includes nested deeper than {MAX_INCLUDE_DEPTH} levels: "
            + " -> ".join([*names[:2], "...", *names[-2:]]),
            hint="an include that keeps including a new file never ends; check its file name",
            location=where,
        )
