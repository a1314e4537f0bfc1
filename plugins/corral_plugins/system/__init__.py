"""Steps about the host's system settings: ``cron``, ``sysctl``, ``hostname``, ``timezone``,
``locale_gen``, ``modprobe`` and ``debconf``."""

from __future__ import annotations

from corral import RegisterStep, StepType, hookimpl
from corral_plugins.system.cron import CRON_SCHEMA, cron


@hookimpl
def corral_register_steps(register: RegisterStep) -> None:
    """Register the system steps."""
    register(
        StepType(
            name="cron",
            run=cron,
            schema=CRON_SCHEMA,
            check_mode=True,
            description="Add, change or remove a named crontab entry or variable.",
        )
    )
