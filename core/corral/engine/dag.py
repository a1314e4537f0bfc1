"""Plays as a DAG: ``needs:`` names the plays that must succeed first.

A playbook in which no play says ``needs`` runs its plays in file order, as
Ansible does. Once any play says ``needs``, the plays form a graph: a play
starts as soon as every play it needs has succeeded (up to
``max_parallel_plays`` at once), and is skipped, with the reason, when one of
them failed or was skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

PlayStatus = str  # "succeeded", "failed", "skipped"


def find_cycle(needs: Mapping[str, Sequence[str]]) -> list[str] | None:
    """A cycle in the graph as a list of names (first == last), or None."""
    state: dict[str, int] = {}  # 1 visiting, 2 done
    stack: list[str] = []

    def visit(name: str) -> list[str] | None:
        state[name] = 1
        stack.append(name)
        for dep in needs.get(name, ()):
            if state.get(dep) == 1:
                return [*stack[stack.index(dep) :], dep]
            if state.get(dep) is None and dep in needs:
                found = visit(dep)
                if found:
                    return found
        stack.pop()
        state[name] = 2
        return None

    for name in needs:
        if state.get(name) is None:
            found = visit(name)
            if found:
                return found
    return None


def levels(names: Sequence[str], needs: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """The plays grouped by depth: level 0 needs nothing, level n needs something at n-1."""
    depth: dict[str, int] = {}

    def level(name: str) -> int:
        if name not in depth:
            deps = needs.get(name, ())
            depth[name] = 1 + max((level(d) for d in deps), default=-1)
        return depth[name]

    out: list[list[str]] = []
    for name in names:
        index = level(name)
        while len(out) <= index:
            out.append([])
        out[index].append(name)
    return out


def run_graph(
    names: Sequence[str],
    needs: Mapping[str, Sequence[str]],
    run_one: Callable[[str], PlayStatus],
    skip: Callable[[str, str], None],
    max_parallel: int,
    stopping: Callable[[], bool],
) -> dict[str, PlayStatus]:
    """Run each name once its needs succeeded; skip it (with a reason) once one did not."""
    status: dict[str, PlayStatus] = {}
    running: dict[Future[PlayStatus], str] = {}
    with ThreadPoolExecutor(
        max_workers=max(1, max_parallel), thread_name_prefix="corral-play"
    ) as pool:
        while len(status) < len(names):
            for name in names:
                if name in status or name in running.values():
                    continue
                blocked = [d for d in needs.get(name, ()) if status.get(d) in ("failed", "skipped")]
                if blocked or stopping():
                    reason = (
                        f"needs {blocked[0]!r}, which {status[blocked[0]]}"
                        if blocked
                        else "the run is stopping"
                    )
                    status[name] = "skipped"
                    skip(name, reason)
                elif (
                    all(status.get(d) == "succeeded" for d in needs.get(name, ()))
                    and len(running) < max_parallel
                ):
                    running[pool.submit(run_one, name)] = name
            if not running:
                continue
            done, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for future in done:
                status[running.pop(future)] = future.result()
    return status
