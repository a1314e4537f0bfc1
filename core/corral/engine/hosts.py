"""Per-host state during a run, and the variables a task sees on a host.

Variable precedence, lowest first, as Ansible's for the parts corral has:
inventory (group < host, playbook-adjacent files over inventory-adjacent) <
facts < play ``vars`` < ``vars_files`` < block and task ``vars`` (and include
vars) < ``set_fact`` and registered results < extra vars (``-e``), with the
magic variables (``inventory_hostname``, ``groups``, ``hostvars``...) on top.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from corral.playbook.templating.environment import Verbatim

if TYPE_CHECKING:
    from corral.playbook.templating.templar import Templar


@dataclass
class HostState:
    """What a run knows about one host; each play works on its own copy (:meth:`for_play`).

    Variables, facts and the connection belong to the run and are shared by the
    copies; failure flags and pending handler notifications belong to one play,
    so plays running side by side in a DAG do not trip over each other.
    """

    name: str
    inventory_vars: dict[str, Any]
    facts: dict[str, Any] = field(default_factory=dict)
    host_vars: dict[str, Any] = field(default_factory=dict)  # set_fact and register
    notified: set[str] = field(default_factory=set)
    failed: bool = False
    unreachable: bool = False
    ended: bool = False  # meta: end_host
    completed: list[Any] = field(default_factory=list)  # tasks with a rollback, in completion order
    ran: bool = False  # the play ran at least one unit here
    last_failure: tuple[Any, dict[str, Any]] | None = None  # (task, result), for rescue

    @property
    def active(self) -> bool:
        return not (self.failed or self.unreachable or self.ended)

    def for_play(self) -> HostState:
        """A fresh per-play view sharing this host's variables and facts."""
        return HostState(self.name, self.inventory_vars, self.facts, self.host_vars)

    def fact_vars(self) -> dict[str, Any]:
        """Facts as Ansible injects them: ``ansible_facts`` plus ``ansible_<name>``."""
        if not self.facts:
            return {}
        out = {f"ansible_{k}": v for k, v in self.facts.items()}
        out["ansible_facts"] = self.facts
        return out


class HostVars(Mapping[str, Mapping[str, Any]]):
    """The ``hostvars`` magic variable: each host's variables, rendered in its scope when read."""

    def __init__(
        self, states: Mapping[str, HostState], extra: Mapping[str, Any], templar: Templar
    ) -> None:
        self._states = states
        self._extra = extra
        self._templar = templar

    def __getitem__(self, host: str) -> Mapping[str, Any]:
        state = self._states[host]
        variables = dict(state.inventory_vars)
        variables.update(verbatim(state.fact_vars()))
        variables.update(verbatim(state.host_vars))
        variables.update(self._extra)
        return self._templar.variables_view(variables)

    def __iter__(self) -> Iterator[str]:
        return iter(self._states)

    def __len__(self) -> int:
        return len(self._states)


def verbatim(values: Mapping[str, Any]) -> dict[str, Any]:
    """Run-time data (results, facts) is used as is: text from a host is never a template."""
    return {key: Verbatim(value) for key, value in values.items()}


def task_variables(
    state: HostState,
    *,
    play_vars: Mapping[str, Any],
    task_vars: Mapping[str, Any],
    extra_vars: Mapping[str, Any],
    magic: Mapping[str, Any],
) -> dict[str, Any]:
    """The variables one task sees on one host, layered lowest first."""
    variables = dict(state.inventory_vars)
    if state.facts:
        variables.update(verbatim(state.fact_vars()))
    variables.update(play_vars)
    variables.update(task_vars)
    if state.host_vars:
        variables.update(verbatim(state.host_vars))
    variables.update(extra_vars)
    variables.update(magic)
    variables["inventory_hostname"] = state.name
    return variables
