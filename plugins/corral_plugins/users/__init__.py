"""User and group accounts: the ``user``, ``group`` and ``getent`` steps (Ansible's names),
and SSH trust: ``authorized_key`` (``ansible.posix.authorized_key``) and ``known_hosts``."""

from __future__ import annotations

from corral import RegisterStep, StepType, hookimpl, lazy_step
from corral_plugins.users.schema import (
    AUTHORIZED_KEY_SCHEMA,
    GETENT_SCHEMA,
    GROUP_SCHEMA,
    KNOWN_HOSTS_SCHEMA,
    USER_SCHEMA,
)


@hookimpl
def corral_register_steps(register: RegisterStep) -> None:
    """Add ``user``, ``group``, ``getent``, ``authorized_key`` and ``known_hosts``.

    Each step's module is imported when a task first runs it (:func:`corral.lazy_step`).
    """
    register(
        StepType(
            name="authorized_key",
            run=lazy_step("corral_plugins.users.authorized_key:authorized_key"),
            schema=AUTHORIZED_KEY_SCHEMA,
            aliases=("ansible.posix.authorized_key",),
            check_mode=True,
            description="Add or remove SSH public keys in a user's authorized_keys file.",
        )
    )
    register(
        StepType(
            name="known_hosts",
            run=lazy_step("corral_plugins.users.known_hosts:known_hosts"),
            schema=KNOWN_HOSTS_SCHEMA,
            check_mode=True,
            description="Add or remove a host's key in an SSH known_hosts file.",
        )
    )
    register(
        StepType(
            name="user",
            run=lazy_step("corral_plugins.users.user:user"),
            schema=USER_SCHEMA,
            check_mode=True,
            description="Create, change or remove a user account (useradd/usermod/userdel).",
        )
    )
    register(
        StepType(
            name="group",
            run=lazy_step("corral_plugins.users.group:group"),
            schema=GROUP_SCHEMA,
            check_mode=True,
            description="Create, change the gid of, or remove a group.",
        )
    )
    register(
        StepType(
            name="getent",
            run=lazy_step("corral_plugins.users.getent:getent"),
            schema=GETENT_SCHEMA,
            check_mode=True,
            variables=("getent_*",),
            description="Look entries up in an NSS database (getent) and set getent_<database>.",
        )
    )
