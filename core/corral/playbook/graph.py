"""Checks on ``needs:``: every name exists, play names are unique, no cycle."""

from __future__ import annotations

from corral.errors import PlaybookError, did_you_mean
from corral.playbook.model import Play


def check_graph(plays: list[Play]) -> None:
    """``needs:`` must name plays that exist, uniquely, without a cycle."""
    if not any(play.needs for play in plays):
        return
    from corral.engine.dag import find_cycle

    by_name: dict[str, Play] = {}
    for play in plays:
        if play.name in by_name:
            raise PlaybookError(
                f"two plays are named {play.name!r}",
                hint="plays of a playbook that uses 'needs' must have unique names",
                location=play.location,
            )
        by_name[play.name] = play
    for play in plays:
        for name in play.needs:
            if name not in by_name:
                raise PlaybookError(
                    f"play {play.name!r} needs {name!r}, which is not a play of this playbook",
                    hint=did_you_mean(name, by_name) or "needs lists play names",
                    location=play.location,
                )
    cycle = find_cycle({play.name: play.needs for play in plays})
    if cycle:
        raise PlaybookError(
            "plays need each other in a cycle: " + " -> ".join(cycle),
            hint="remove one of the 'needs' entries to break the cycle",
            location=by_name[cycle[0]].location,
        )
