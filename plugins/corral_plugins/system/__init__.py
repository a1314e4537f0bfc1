"""Steps about the host's system settings: ``cron``, ``sysctl``, ``hostname``, ``timezone``,
``locale_gen``, ``modprobe`` and ``debconf``."""

from __future__ import annotations

from corral import RegisterStep, hookimpl


@hookimpl
def corral_register_steps(register: RegisterStep) -> None:
    """Register the system steps."""
