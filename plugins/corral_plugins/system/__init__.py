"""Steps about the host's system settings: ``cron``, ``sysctl``, ``hostname``, ``timezone``,
``locale_gen``, ``modprobe``, ``debconf``, ``mount`` and ``reboot``.

Ansible keeps ``cron``, ``hostname`` and ``debconf`` in ``ansible.builtin`` (those names
are added for every built-in module), ``sysctl`` in ``ansible.posix`` and ``timezone``,
``locale_gen`` and ``modprobe`` in ``community.general``: those names are aliases here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from corral import RegisterStep, StepContext, StepResult, StepType, hookimpl
from corral_plugins.system.cron import CRON_SCHEMA, cron
from corral_plugins.system.debconf import DEBCONF_SCHEMA, debconf
from corral_plugins.system.hostname import HOSTNAME_SCHEMA, hostname
from corral_plugins.system.locale_gen import LOCALE_GEN_SCHEMA, locale_gen
from corral_plugins.system.modprobe import MODPROBE_SCHEMA, modprobe
from corral_plugins.system.mount import MOUNT_SCHEMA, mount
from corral_plugins.system.reboot import REBOOT_SCHEMA, reboot
from corral_plugins.system.sysctl import SYSCTL_SCHEMA, sysctl
from corral_plugins.system.timezone import TIMEZONE_SCHEMA, timezone

Run = Callable[[StepContext, Mapping[str, Any]], StepResult]

# name -> (function, schema, collection Ansible keeps it in, or "" for ansible.builtin, text)
STEPS: dict[str, tuple[Run, Mapping[str, Any], str, str]] = {
    "cron": (cron, CRON_SCHEMA, "", "Add, change or remove a named crontab entry or variable."),
    "sysctl": (
        sysctl,
        SYSCTL_SCHEMA,
        "ansible.posix",
        "Set a kernel parameter in a sysctl file and, if asked, live.",
    ),
    "hostname": (hostname, HOSTNAME_SCHEMA, "", "Set the host's name, now and at boot."),
    "timezone": (
        timezone,
        TIMEZONE_SCHEMA,
        "community.general",
        "Set the host's time zone.",
    ),
    "locale_gen": (
        locale_gen,
        LOCALE_GEN_SCHEMA,
        "community.general",
        "Compile (or remove) locales with locale-gen.",
    ),
    "modprobe": (
        modprobe,
        MODPROBE_SCHEMA,
        "community.general",
        "Load or unload a kernel module, and keep it loaded at boot.",
    ),
    "debconf": (debconf, DEBCONF_SCHEMA, "", "Preseed a Debian package's debconf answer."),
    "mount": (
        mount,
        MOUNT_SCHEMA,
        "ansible.posix",
        "Manage an /etc/fstab entry and mount or unmount it.",
    ),
    "reboot": (reboot, REBOOT_SCHEMA, "", "Reboot the host and wait until it is back."),
}


@hookimpl
def corral_register_steps(register: RegisterStep) -> None:
    """Register the system steps."""
    for name, (run, schema, collection, description) in STEPS.items():
        register(
            StepType(
                name=name,
                run=run,
                schema=schema,
                aliases=(f"{collection}.{name}",) if collection else (),
                check_mode=True,
                description=description,
                facts=("hostname", "nodename", "fqdn", "domain") if name == "hostname" else (),
            )
        )
