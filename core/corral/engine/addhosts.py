"""Hosts and groups a task adds to the run's inventory (``add_host``, ``group_by``).

A step returns them in :attr:`StepResult.add_hosts <corral.steps.StepResult>`; the
play runner applies them here once the task has ended on its hosts, from one thread,
then refreshes what depends on the inventory: the ``groups`` magic variable and the
inventory variables of the hosts that changed (``group_names``, and the variables of
the groups they joined, as Ansible gives a host ``group_vars/<group>.yml`` after
``group_by``). Later plays select their hosts from the changed inventory.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from corral.inventory.model import Inventory
from corral.steps import AddHost

if TYPE_CHECKING:
    from corral.engine.context import RunContext

__all__ = ["apply_add_hosts"]


def apply_add_hosts(run: RunContext, changes: Iterable[AddHost]) -> bool:
    """Add each change to ``run.inventory``; whether anything was added."""
    inventory = run.inventory
    touched: list[str] = []
    for change in changes:
        if _apply(inventory, change):
            touched.append(change.name)
    for host in dict.fromkeys(touched):
        state = run.states.get(host)
        if state is not None:
            # In place: the per-play copies of the host's state share this dict.
            fresh = run.host_variables(host)
            state.inventory_vars.clear()
            state.inventory_vars.update(fresh)
    return bool(touched)


def _apply(inventory: Inventory, change: AddHost) -> bool:
    changed = False
    for group in change.groups:
        if group not in inventory.groups:
            inventory.add_group(group)
            for parent in change.parents:
                if parent not in inventory.groups:
                    inventory.add_group(parent)
                if parent != group:
                    inventory.add_child(parent, group)
            changed = True
    if not inventory.has_host(change.name):
        inventory.add_host(change.name, None if change.groups else "ungrouped")
        changed = True
    for group in change.groups:
        if change.name not in inventory.groups[group].hosts:
            inventory.add_child(group, change.name)
            changed = True
    for key, value in change.variables.items():
        inventory.set_variable(change.name, key, value)
        changed = True
    return changed
