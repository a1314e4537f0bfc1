"""Steps about services: ``service``, ``systemd`` (``systemd_service``), ``sysvinit`` and
``service_facts``.

The backends: systemd (:mod:`.systemd`), SysV init scripts (:mod:`.sysv`) and OpenRC
(:mod:`.openrc`); :mod:`.service` picks one from the host's ``ansible_service_mgr``.
"""

from __future__ import annotations

from corral import RegisterStep, StepType, hookimpl, lazy_step
from corral_plugins.services.schemas import (
    SERVICE_FACTS_SCHEMA,
    SERVICE_SCHEMA,
    SYSTEMD_SCHEMA,
    SYSVINIT_SCHEMA,
)


@hookimpl
def corral_register_steps(register: RegisterStep) -> None:
    """Register ``service``, ``systemd``, ``sysvinit`` and ``service_facts``."""
    register(
        StepType(
            name="service",
            run=lazy_step("corral_plugins.services.service:service"),
            schema=SERVICE_SCHEMA,
            check_mode=True,
            description="Start, stop, restart, reload or enable a service "
            "(systemd, SysV init or OpenRC).",
        )
    )
    register(
        StepType(
            name="systemd",
            run=lazy_step("corral_plugins.services.systemd:systemd"),
            schema=SYSTEMD_SCHEMA,
            aliases=(
                "systemd_service",
                "ansible.builtin.systemd_service",
                "ansible.legacy.systemd_service",
            ),
            check_mode=True,
            description="Start, stop, restart, reload, enable or mask a systemd unit; "
            "daemon-reload.",
        )
    )
    register(
        StepType(
            name="sysvinit",
            run=lazy_step("corral_plugins.services.sysvinit:sysvinit"),
            schema=SYSVINIT_SCHEMA,
            check_mode=True,
            description="Start, stop, restart, reload or enable a service through its "
            "SysV init script, in given runlevels if asked.",
        )
    )
    register(
        StepType(
            name="service_facts",
            run=lazy_step("corral_plugins.services.facts:service_facts"),
            schema=SERVICE_FACTS_SCHEMA,
            check_mode=True,
            facts=("services",),
            variables=("services",),
            description="List the host's services into `ansible_facts.services`.",
        )
    )
