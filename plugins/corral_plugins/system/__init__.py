"""Steps about the host's system settings: ``cron``, ``sysctl``, ``hostname``, ``timezone``,
``locale_gen``, ``modprobe``, ``debconf``, ``mount`` and ``reboot``.

Ansible keeps ``cron``, ``hostname`` and ``debconf`` in ``ansible.builtin`` (those names
are added for every built-in module), ``sysctl`` in ``ansible.posix`` and ``timezone``,
``locale_gen`` and ``modprobe`` in ``community.general``: those names are aliases here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from corral import RegisterStep, StepType, hookimpl, lazy_step
from corral_plugins.system.schemas import (
    CRON_SCHEMA,
    DEBCONF_SCHEMA,
    HOSTNAME_SCHEMA,
    LOCALE_GEN_SCHEMA,
    MODPROBE_SCHEMA,
    MOUNT_SCHEMA,
    REBOOT_SCHEMA,
    SYSCTL_SCHEMA,
    TIMEZONE_SCHEMA,
)

# name -> (schema, collection Ansible keeps it in, or "" for ansible.builtin, text). Each
# step's code is the function of its name in the module of its name, imported when a task
# first runs it (lazy_step).
STEPS: dict[str, tuple[Mapping[str, Any], str, str]] = {
    "cron": (CRON_SCHEMA, "", "Add, change or remove a named crontab entry or variable."),
    "sysctl": (
        SYSCTL_SCHEMA,
        "ansible.posix",
        "Set a kernel parameter in a sysctl file and, if asked, live.",
    ),
    "hostname": (HOSTNAME_SCHEMA, "", "Set the host's name, now and at boot."),
    "timezone": (TIMEZONE_SCHEMA, "community.general", "Set the host's time zone."),
    "locale_gen": (
        LOCALE_GEN_SCHEMA,
        "community.general",
        "Compile (or remove) locales with locale-gen.",
    ),
    "modprobe": (
        MODPROBE_SCHEMA,
        "community.general",
        "Load or unload a kernel module, and keep it loaded at boot.",
    ),
    "debconf": (DEBCONF_SCHEMA, "", "Preseed a Debian package's debconf answer."),
    "mount": (
        MOUNT_SCHEMA,
        "ansible.posix",
        "Manage an /etc/fstab entry and mount or unmount it.",
    ),
    "reboot": (REBOOT_SCHEMA, "", "Reboot the host and wait until it is back."),
}


@hookimpl
def corral_register_steps(register: RegisterStep) -> None:
    """Register the system steps."""
    for name, (schema, collection, description) in STEPS.items():
        register(
            StepType(
                name=name,
                run=lazy_step(f"corral_plugins.system.{name}:{name}"),
                schema=schema,
                aliases=(f"{collection}.{name}",) if collection else (),
                check_mode=True,
                description=description,
                facts=("hostname", "nodename", "fqdn", "domain") if name == "hostname" else (),
            )
        )
