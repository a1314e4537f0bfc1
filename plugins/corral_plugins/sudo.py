"""sudo as a become method, for connections that start processes themselves (``local``).

This module registers nothing; :mod:`corral_plugins.local` uses it. The protocol:

1. :func:`sudo_command` wraps the command as
   ``sudo -H -S -p <prompt> [-n] -u USER -- [env K=V...] /bin/sh -c <wrapper> <marker> argv...``.
   The prompt and the marker carry a random nonce, so command output cannot fake them.
2. :func:`sudo_handshake` reads sudo's stderr and stdout: when the prompt appears it writes
   the password (only then: a sudo that asks nothing never sees it); when the wrapper prints
   the marker on both streams, the command has started, and everything after the marker is
   the command's own output. A second prompt means a wrong password; sudo exiting before
   the marker means it refused.
"""

from __future__ import annotations

import os
import secrets
import selectors
import subprocess
import time
from dataclasses import dataclass

from corral import Become, StepFailed

__all__ = ["SudoCommand", "sudo_command", "sudo_handshake"]

# Runs as the become user: prints the marker on stdout and stderr, then becomes the command.
_WRAPPER = 'echo "$0"; echo "$0" >&2; exec "$@"'


@dataclass(frozen=True)
class SudoCommand:
    """A command wrapped for sudo, with what the handshake needs to recognise."""

    argv: list[str]
    prompt: str
    marker: str
    password: str | None


def sudo_command(exe: str, become: Become, argv: list[str], env: dict[str, str]) -> SudoCommand:
    """Wrap ``argv`` to run through ``exe`` (sudo) as ``become.user``.

    sudo resets the environment, so ``env`` (the task's variables) is passed with ``env(1)``.
    """
    nonce = secrets.token_hex(8)
    prompt = f"[corral:{nonce}] password:"
    marker = f"CORRAL-BECOME-{nonce}"
    password = become.password.reveal() if become.password is not None else None
    env_args = [f"{key}={value}" for key, value in env.items()]
    wrapped = [
        exe,
        "-H",
        "-S",
        # Without a password, fail at once rather than read one from the command's stdin.
        *(["-n"] if password is None else []),
        "-p",
        prompt,
        *become.flags,
        "-u",
        become.user,
        "--",
        *(["env", *env_args] if env_args else []),
        "/bin/sh",
        "-c",
        _WRAPPER,
        marker,
        *argv,
    ]
    return SudoCommand(argv=wrapped, prompt=prompt, marker=marker, password=password)


def sudo_handshake(
    proc: subprocess.Popen[bytes], command: SudoCommand, deadline: float | None
) -> tuple[bytes, bytes]:
    """Answer sudo's prompt and wait until the command has started.

    Returns the command's stdout and stderr that arrived with the start markers. Raises
    :class:`StepFailed` when sudo refuses or rejects the password, and
    :class:`TimeoutError` at ``deadline`` (a ``time.monotonic()`` value). The caller
    kills the process in both cases.
    """
    if proc.stdout is None or proc.stderr is None or proc.stdin is None:
        raise ValueError("the sudo process needs piped stdin, stdout and stderr")
    line = (command.marker + "\n").encode()
    out_fd, err_fd = proc.stdout.fileno(), proc.stderr.fileno()
    buffers = {out_fd: b"", err_fd: b""}
    answered = 0
    with selectors.DefaultSelector() as selector:
        selector.register(out_fd, selectors.EVENT_READ)
        selector.register(err_fd, selectors.EVENT_READ)
        while not (line in buffers[out_fd] and line in buffers[err_fd]):
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise TimeoutError
            for key, _ in selector.select(remaining):
                chunk = os.read(int(key.fd), 65536)
                if not chunk:
                    selector.unregister(key.fd)
                buffers[int(key.fd)] += chunk
            if not selector.get_map():
                proc.wait()
                raise _refused(buffers[err_fd], command.prompt, proc.returncode)
            prompts = buffers[err_fd].split(line)[0].count(command.prompt.encode())
            if prompts > answered:
                if command.password is None or answered:
                    raise StepFailed(
                        "sudo did not accept the become password",
                        hint="check ansible_become_password (or --ask-become-pass)",
                    )
                proc.stdin.write(command.password.encode() + b"\n")
                proc.stdin.flush()
                answered = prompts
    return buffers[out_fd].split(line, 1)[1], buffers[err_fd].split(line, 1)[1]


def _refused(stderr: bytes, prompt: str, returncode: int) -> StepFailed:
    text = stderr.decode("utf-8", errors="replace").replace(prompt, "").strip()
    reason = text.splitlines()[0] if text else f"sudo exited with status {returncode}"
    return StepFailed(
        f"become failed: {reason}",
        hint="check the sudoers rules and ansible_become_password for this user",
    )
