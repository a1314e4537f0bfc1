"""Talking to a Docker daemon with the docker SDK: choosing the daemon, and running commands.

Shared by the ``docker.*`` steps and the ``docker`` connection. The daemon is chosen
per inventory host by ``docker_host`` (``unix:///run/docker.sock``, ``tcp://h:2376``,
``ssh://user@h``); without it, the SDK's usual ``DOCKER_HOST`` environment applies,
then the local socket. The SDK is imported inside the functions.
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from corral import StepContext, StepFailed

__all__ = [
    "DAEMON_SETTINGS",
    "DEFAULT_TIMEOUT",
    "ExecOutcome",
    "api_error",
    "daemon_name",
    "daemon_variables",
    "docker_client",
    "exec_command",
]

DEFAULT_TIMEOUT = 60.0

# Host variable -> the SDK's environment variable it stands for.
DAEMON_SETTINGS: Mapping[str, str] = {
    "docker_host": "DOCKER_HOST",
    "docker_tls_verify": "DOCKER_TLS_VERIFY",
    "docker_cert_path": "DOCKER_CERT_PATH",
}

_STDOUT, _STDERR = 1, 2
_HEADER = struct.Struct(">BxxxL")

_HOST_VARIABLES = (*DAEMON_SETTINGS, "docker_timeout", "docker_api_version")


def daemon_variables(ctx: StepContext) -> dict[str, Any]:
    """The host's daemon settings (``docker_host``, ...), rendered if they are templates."""
    found: dict[str, Any] = {}
    for name in (*_HOST_VARIABLES, *(f"ansible_{n}" for n in _HOST_VARIABLES)):
        if name in ctx.vars:
            found[name] = ctx.var(name)
    return found


def daemon_name(variables: Mapping[str, Any], override: str | None = None) -> str:
    """The daemon a host's steps talk to, for messages."""
    chosen = override or variables.get("docker_host") or variables.get("ansible_docker_host")
    return str(chosen or os.environ.get("DOCKER_HOST") or "the local Docker daemon")


def docker_client(
    variables: Mapping[str, Any],
    *,
    override: str | None = None,
    timeout: float | None = None,
) -> Any:
    """A ``docker.DockerClient`` for the daemon of a host (its ``docker_host`` variable).

    ``timeout`` bounds every API call (``docker_timeout``, else 60 s); the API
    version is ``docker_api_version``, else negotiated. Raises StepFailed when the
    daemon cannot be reached.
    """
    import docker

    environment = dict(os.environ)
    for name, env_name in DAEMON_SETTINGS.items():
        value = variables.get(name, variables.get(f"ansible_{name}"))
        if value is None or value == "":
            continue
        if name == "docker_tls_verify":
            # The SDK verifies whenever the variable is set at all, even to "false".
            if str(value).strip().lower() in ("false", "no", "0", "off"):
                environment.pop(env_name, None)
            else:
                environment[env_name] = "1"
        else:
            environment[env_name] = str(value)
    if override:
        environment["DOCKER_HOST"] = override
    if timeout is None:
        timeout = float(variables.get("docker_timeout") or DEFAULT_TIMEOUT)
    version = str(variables.get("docker_api_version") or "auto")
    try:
        _check_ssh_reachable(environment.get("DOCKER_HOST", ""), timeout)
        return docker.from_env(
            environment=environment, timeout=round(timeout), version=version, use_ssh_client=False
        )
    except Exception as exc:  # the SDK, paramiko and sockets each raise their own errors here
        raise StepFailed(
            f"cannot reach the Docker daemon at {daemon_name(variables, override)}: {exc}",
            hint="set docker_host for the host (unix://, tcp:// or ssh://); is the daemon up?",
        ) from exc


def api_error(exc: BaseException) -> str:
    """The first line of what the daemon said about a failed call."""
    explanation = getattr(exc, "explanation", None)
    text = str(explanation or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _check_ssh_reachable(url: str, timeout: float) -> None:
    """Fail fast when an ``ssh://`` daemon does not answer: the SDK connects with no timeout."""
    if not url.startswith("ssh://"):
        return
    parsed = urlparse(url)
    with socket.create_connection((parsed.hostname or "localhost", parsed.port or 22), timeout):
        pass


@dataclass(frozen=True)
class ExecOutcome:
    """What a command run with ``docker exec`` did; ``rc`` is None when it timed out."""

    rc: int | None
    stdout: bytes
    stderr: bytes
    timed_out: bool = False


def exec_command(
    client: Any,
    container: str,
    argv: Sequence[str],
    *,
    stdin: bytes | None = None,
    env: Mapping[str, str] | None = None,
    workdir: str | None = None,
    user: str | None = None,
    timeout: float | None = None,
) -> ExecOutcome:
    """Run ``argv`` in a running container, feeding ``stdin``, until it ends or ``timeout``.

    Docker has no way to stop an exec'd process: after a timeout it may still run.
    """
    api = client.api
    created = api.exec_create(
        container,
        list(argv),
        stdout=True,
        stderr=True,
        stdin=stdin is not None,
        tty=False,
        environment=dict(env) if env else None,
        workdir=workdir,
        user=user or "",
    )
    exec_id = created["Id"]
    deadline = None if timeout is None else time.monotonic() + timeout
    stream = api.exec_start(exec_id, tty=False, socket=True)
    raw = getattr(stream, "_sock", stream)
    try:
        if stdin is not None:
            _set_timeout(raw, deadline)
            raw.sendall(stdin)
            _close_write(raw)
        # Without stdin attached the write side stays open: half-closing it early (before
        # the command wrote anything) let the daemon end the stream with no output at all,
        # now and then on a loaded machine: an empty ``stat`` that crashed its parser.
        out, err, timed_out = _read_frames(raw, deadline)
    finally:
        stream.close()
    if timed_out:
        return ExecOutcome(rc=None, stdout=out, stderr=err, timed_out=True)
    rc = _exit_code(api, exec_id)
    if rc in (126, 127) and not out and not err:
        # Docker says nothing when it cannot start the process (an unknown user, say).
        err = f"docker exec could not start {argv[0]!r} as user {user or '(default)'!r}".encode()
    return ExecOutcome(rc=rc, stdout=out, stderr=err)


def _exit_code(api: Any, exec_id: str) -> int:
    # The output can end a moment before Docker records the exit code.
    for _ in range(50):
        state = api.exec_inspect(exec_id)
        if not state.get("Running") and state.get("ExitCode") is not None:
            return int(state["ExitCode"])
        time.sleep(0.02)
    return int(state.get("ExitCode") or 0)


def _set_timeout(raw: Any, deadline: float | None) -> None:
    if deadline is None:
        raw.settimeout(None)
        return
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError
    raw.settimeout(remaining)


def _close_write(raw: Any) -> None:
    """Send EOF to the command's standard input (half-close; the output still comes)."""
    if hasattr(raw, "shutdown_write"):  # paramiko's channel, for ssh:// daemons
        raw.shutdown_write()
        return
    # Fails when the daemon already closed it: the command ended without reading stdin.
    with contextlib.suppress(OSError):
        raw.shutdown(socket.SHUT_WR)


def _read_frames(raw: Any, deadline: float | None) -> tuple[bytes, bytes, bool]:
    """Read Docker's multiplexed stream (8-byte header, then payload) until EOF or the deadline."""
    buffers = {_STDOUT: bytearray(), _STDERR: bytearray()}
    pending = bytearray()
    try:
        while True:
            _set_timeout(raw, deadline)
            chunk = raw.recv(65536)
            if not chunk:
                break
            pending += chunk
            while len(pending) >= _HEADER.size:
                kind, size = _HEADER.unpack_from(pending)
                if len(pending) < _HEADER.size + size:
                    break
                payload = pending[_HEADER.size : _HEADER.size + size]
                buffers.get(kind, buffers[_STDOUT]).extend(payload)
                del pending[: _HEADER.size + size]
    except TimeoutError:
        return bytes(buffers[_STDOUT]), bytes(buffers[_STDERR]), True
    buffers[_STDOUT].extend(pending)  # a truncated last frame: keep what arrived
    return bytes(buffers[_STDOUT]), bytes(buffers[_STDERR]), False
