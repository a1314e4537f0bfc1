"""User and group accounts: the ``user``, ``group`` and ``getent`` steps (Ansible's names)."""

from __future__ import annotations

from corral import RegisterStep, StepType, hookimpl
from corral_plugins.users.getent import getent
from corral_plugins.users.group import group
from corral_plugins.users.schema import GETENT_SCHEMA, GROUP_SCHEMA, USER_SCHEMA
from corral_plugins.users.user import user

__all__ = ["getent", "group", "user"]


@hookimpl
def corral_register_steps(register: RegisterStep) -> None:
    """Add ``user``, ``group`` and ``getent``."""
    register(
        StepType(
            name="user",
            run=user,
            schema=USER_SCHEMA,
            check_mode=True,
            description="Create, change or remove a user account (useradd/usermod/userdel).",
        )
    )
    register(
        StepType(
            name="group",
            run=group,
            schema=GROUP_SCHEMA,
            check_mode=True,
            description="Create, change the gid of, or remove a group.",
        )
    )
    register(
        StepType(
            name="getent",
            run=getent,
            schema=GETENT_SCHEMA,
            check_mode=True,
            variables=("getent_*",),
            description="Look entries up in an NSS database (getent) and set getent_<database>.",
        )
    )
