"""The ``git`` step (Ansible's ``git`` module): a checkout of a repository kept at a version."""

from __future__ import annotations

from corral import RegisterStep, StepType, hookimpl, lazy_step
from corral_plugins.git.schemas import GIT_SCHEMA

__all__ = ["GIT_SCHEMA"]


@hookimpl
def corral_register_steps(register: RegisterStep) -> None:
    """Register ``git``."""
    register(
        StepType(
            name="git",
            run=lazy_step("corral_plugins.git.step:git"),
            schema=GIT_SCHEMA,
            check_mode=True,
            description="Clone or update a git checkout at a branch, tag or commit.",
        )
    )
