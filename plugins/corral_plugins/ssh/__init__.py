"""SSH: the ``ssh`` connection (paramiko) and the ``ssh`` and ``fetch`` steps.

:mod:`~corral_plugins.ssh.connection` is the connection; how a host is reached is
resolved in :mod:`~corral_plugins.ssh.config`, the link opened in
:mod:`~corral_plugins.ssh.transport`, host keys checked in
:mod:`~corral_plugins.ssh.hostkeys`, commands run in :mod:`~corral_plugins.ssh.channel`
and files moved in :mod:`~corral_plugins.ssh.sftp`. :mod:`~corral_plugins.ssh.remote`
has the steps.
"""

from __future__ import annotations

from corral import RegisterConnection, RegisterStep, hookimpl
from corral_plugins.ssh import connection, remote


@hookimpl
def corral_register_connections(register: RegisterConnection) -> None:
    """Register the ``ssh`` connection type (the default for hosts that are not local)."""
    connection.register_connections(register)


@hookimpl
def corral_register_steps(register: RegisterStep) -> None:
    """Register the ``ssh`` and ``fetch`` steps."""
    remote.register_steps(register)
