"""The sudo handshake for the ``local`` connection, which starts processes itself.

This module registers nothing; :mod:`corral_plugins.local` uses it. The protocol:

1. :func:`corral.posix.sudo_command` wraps the command as
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
import selectors
import subprocess
import time

from corral import StepFailed
from corral.posix import SudoCommand

__all__ = ["sudo_handshake"]


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
