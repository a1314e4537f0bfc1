"""Docker, through the docker SDK: the ``docker.*`` steps and the ``docker`` connection.

:mod:`~corral_plugins.docker.api` chooses the daemon and runs commands in containers;
:mod:`~corral_plugins.docker.steps` and :mod:`~corral_plugins.docker.container` are
the steps, :mod:`~corral_plugins.docker.connection` the connection.
"""

from __future__ import annotations

from corral import RegisterConnection, RegisterStep, hookimpl
from corral_plugins.docker import connection, steps


@hookimpl
def corral_register_steps(register: RegisterStep) -> None:
    """Register the ``docker.*`` steps."""
    steps.register_steps(register)


@hookimpl
def corral_register_connections(register: RegisterConnection) -> None:
    """Register the ``docker`` connection type."""
    connection.register_connections(register)
