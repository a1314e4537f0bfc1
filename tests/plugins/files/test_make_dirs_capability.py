"""The files steps use a connection's ``make_dirs`` only when its capabilities declare it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from step_runner import make_render, registered_steps, run_step

from corral import CAPABILITIES, MAKE_DIRS, Become, CommandResult, Connection, StepContext
from corral.testing.simulated import SimulatedConnection
from corral_plugins import files
from corral_plugins.docker.connection import DockerConnection
from corral_plugins.local import LocalConnection
from corral_plugins.ssh.connection import SshConnection

STEPS = registered_steps(files)


class RecordingConnection(LocalConnection):
    """The local connection, recording the commands and ``make_dirs`` calls it gets."""

    def __init__(self, capabilities: frozenset[str]) -> None:
        super().__init__()
        self.capabilities = capabilities
        self.commands: list[str] = []
        self.made: list[str] = []

    def run(self, command: Sequence[str] | str, **kwargs: Any) -> CommandResult:
        self.commands.append(command if isinstance(command, str) else command[0])
        return super().run(command, **kwargs)

    def make_dirs(
        self, path: str, *, become: Become | None = None, timeout: float | None = None
    ) -> None:
        if MAKE_DIRS not in self.capabilities:
            raise NotImplementedError("not declared")
        self.made.append(path)
        super().make_dirs(path, become=become, timeout=timeout)


def _ctx(conn: Connection) -> StepContext:
    variables: Mapping[str, Any] = {}
    return StepContext(host="localhost", vars=variables, conn=conn, render=make_render(variables))


@pytest.mark.parametrize(
    "cls", [LocalConnection, SshConnection, SimulatedConnection, DockerConnection]
)
def test_builtin_connections_declare_only_known_capabilities(cls: type[Any]) -> None:
    assert isinstance(cls.capabilities, frozenset)
    assert cls.capabilities <= CAPABILITIES


def test_a_declared_make_dirs_is_used(tmp_path: Path) -> None:
    conn = RecordingConnection(frozenset({MAKE_DIRS}))
    path = tmp_path / "a" / "b"
    result = run_step(STEPS, "file", _ctx(conn), {"path": str(path), "state": "directory"})
    assert result.changed
    assert path.is_dir()
    assert conn.made == [str(path)]
    assert "mkdir" not in conn.commands


def test_without_the_capability_the_step_runs_mkdir(tmp_path: Path) -> None:
    conn = RecordingConnection(frozenset())
    path = tmp_path / "a" / "b"
    result = run_step(STEPS, "file", _ctx(conn), {"path": str(path), "state": "directory"})
    assert result.changed
    assert path.is_dir()
    assert conn.made == []
    assert "mkdir" in conn.commands


def test_docker_without_the_capability_raises_not_implemented() -> None:
    conn = DockerConnection("web", container="web", variables={})
    assert MAKE_DIRS not in conn.capabilities
    with pytest.raises(NotImplementedError):
        conn.make_dirs("/srv")
