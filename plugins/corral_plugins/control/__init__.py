"""Steps that steer a play: ``debug``, ``set_fact``, ``assert``, ``fail``, ``pause``,
``meta``, ``wait_for``, ``wait_for_connection``, ``approval``, ``include_vars``,
``validate_argument_spec``, and ``group_by`` and ``add_host``
(:mod:`~corral_plugins.control.hosts`).

:mod:`~corral_plugins.control.steps` holds the ones that never touch the host,
:mod:`~corral_plugins.control.wait` and :mod:`~corral_plugins.control.wait_connection` those
that poll it, and
:mod:`~corral_plugins.control.approval` the one that waits for a person.
"""

from __future__ import annotations

from corral import RegisterStep, hookimpl
from corral_plugins.control import (
    approval,
    argspec,
    hosts,
    include_vars,
    steps,
    wait,
    wait_connection,
)


@hookimpl
def corral_register_steps(register: RegisterStep) -> None:
    """Register the control steps, ``wait_for``, ``approval`` and ``include_vars``."""
    steps.register_steps(register)
    wait.register_steps(register)
    wait_connection.register_steps(register)
    approval.register_steps(register)
    include_vars.register_steps(register)
    argspec.register_steps(register)
    hosts.register_steps(register)
