"""The ``haproxy`` step: put HAProxy backend servers in drain, maintenance or ready state.

It talks to HAProxy's runtime API (the admin-level ``stats socket``) on the host the task
runs on, usually the load balancer (``delegate_to: lb``): :mod:`.step`.
"""

from __future__ import annotations

from corral import RegisterStep, StepType, hookimpl, lazy_step
from corral_plugins.haproxy.schema import HAPROXY_SCHEMA


@hookimpl
def corral_register_steps(register: RegisterStep) -> None:
    """Register ``haproxy`` (no alias for ``community.general.haproxy``: its arguments differ)."""
    register(
        StepType(
            name="haproxy",
            run=lazy_step("corral_plugins.haproxy.step:haproxy"),
            schema=HAPROXY_SCHEMA,
            check_mode=True,
            description="Drain, disable or enable HAProxy backend servers through the "
            "runtime API, and report the backend's servers.",
        )
    )
