"""Commands over one SSH exec channel: the command line, output, sudo, and stopping.

:func:`remote_command` quotes an argv list into the line sent to the host's login shell
(entering ``cwd``, passing ``env`` through ``env(1)``, wrapping in sudo for ``become``).
:class:`ChannelPump` reads stdout and stderr without blocking on either;
:func:`sudo_handshake` answers sudo's prompt over the channel; :func:`send_signal` asks
the server to signal the command's process group. :func:`open_exec`, :func:`converse` and
:func:`stop_timed_out` put these together for one command on a live link.
"""

from __future__ import annotations

import contextlib
import re
import select
import shlex
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from corral import Become, HostUnreachable, StepFailed
from corral.posix import RawOutput, SudoCommand, sudo_command

if TYPE_CHECKING:
    import paramiko

    from corral_plugins.ssh.transport import SshLink

__all__ = [
    "DRAIN_SECONDS",
    "SUDO_KILL_GRACE",
    "ChannelPump",
    "LostLink",
    "converse",
    "feed_stdin",
    "open_exec",
    "remote_command",
    "send_signal",
    "shown",
    "stop_timed_out",
    "sudo_handshake",
]

# After a timeout: how long sudo gets to pass SIGTERM on, and how long output may drain.
SUDO_KILL_GRACE = 1.0
DRAIN_SECONDS = 2.0

# Standard input larger than this is fed from a thread, so output keeps flowing meanwhile.
_INLINE_STDIN = 1 << 20
_READ_SIZE = 1 << 16
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# Runs as the become user, between sudo and the command. On a timeout the ssh server can
# only signal processes of the login user: sudo gets SIGTERM and passes it on to this
# shell, which then ends the command's whole process group (its children included).
_GROUP_KILL_WRAPPER = "trap 'trap - TERM; kill -TERM 0' TERM; exec 3<&0; \"$@\" <&3 3<&- & wait $!"


def remote_command(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: str | None,
    become: Become | None,
    become_exe: str = "sudo",
) -> tuple[str, SudoCommand | None]:
    """The line sent to the host's login shell for ``argv``, quoted, and its sudo wrapping if any.

    ``cwd`` is entered first (``rc`` 1 when it cannot be); ``env`` goes through
    ``env(1)``; ``become`` wraps it all with :func:`corral.posix.sudo_command`.
    """
    for name in env:
        if not _ENV_NAME.match(name):
            raise StepFailed(f"invalid environment variable name {name!r}")
    inner = list(argv)
    if cwd is not None:
        inner = ["/bin/sh", "-c", 'cd "$1" || exit 1; shift; exec "$@"', "sh", cwd, *inner]
    if become is not None:
        inner = ["/bin/sh", "-c", _GROUP_KILL_WRAPPER, "sh", *inner]
        sudo = sudo_command(become_exe, become, inner, dict(env))
        return shlex.join(sudo.argv), sudo
    if env:
        inner = ["env", *(f"{key}={value}" for key, value in env.items()), *inner]
    return shlex.join(inner), None


def shown(argv: Sequence[str]) -> str:
    """``argv`` quoted for a message, cut to 60 characters."""
    text = shlex.join(argv)
    return text if len(text) <= 60 else text[:57] + "..."


# -- channel I/O --------------------------------------------------------------------


class ChannelPump:
    """Reads a channel's stdout and stderr into buffers without blocking on either."""

    def __init__(self, channel: paramiko.Channel) -> None:
        self.channel = channel
        self.out = bytearray()
        self.err = bytearray()
        self._poll = select.poll()
        self._poll.register(channel.fileno(), select.POLLIN)

    def drain(self) -> None:
        channel = self.channel
        while channel.recv_ready():
            self.out += channel.recv(_READ_SIZE)
        while channel.recv_stderr_ready():
            self.err += channel.recv_stderr(_READ_SIZE)

    def read_until(self, done: Callable[[], bool], deadline: float | None) -> bool | None:
        """Read until ``done()``; None when the output ended first, False at the deadline."""
        channel = self.channel
        while True:
            self.drain()
            if done():
                return True
            if channel.eof_received or channel.closed:
                self.drain()
                return True if done() else None
            wait = None if deadline is None else deadline - time.monotonic()
            if wait is not None and wait <= 0:
                return False
            self._poll.poll(None if wait is None else max(1, int(wait * 1000)))

    def until_exit(self, deadline: float | None) -> bool:
        """Read until the command has exited and its output ended; False at the deadline."""
        channel = self.channel
        if self.read_until(lambda: False, deadline) is False:
            return False
        # Output has ended (EOF); the exit status follows, or the channel closes.
        while not (channel.exit_status_ready() or channel.closed):
            wait = None if deadline is None else deadline - time.monotonic()
            if wait is not None and wait <= 0:
                return False
            channel.status_event.wait(wait)
        self.drain()
        return True


def sudo_handshake(pump: ChannelPump, sudo: SudoCommand, deadline: float | None) -> bool:
    """Answer sudo's prompt and wait until the command has started; False at the deadline.

    The channel twin of :func:`corral_plugins.local.sudo.sudo_handshake`: raises
    :class:`~corral.StepFailed` when sudo refuses or the password is wrong, and drops
    what came before the start markers (sudo's prompt) from the buffers.
    """
    line = (sudo.marker + "\n").encode()
    prompt = sudo.prompt.encode()
    answered = 0

    def started() -> bool:
        return line in pump.out and line in pump.err

    def asked() -> bool:
        return started() or pump.err.split(line)[0].count(prompt) > answered

    while True:
        state = pump.read_until(asked, deadline)
        if state is False:
            return False
        if started():
            break
        if state is None:
            text = (
                bytes(pump.err).decode("utf-8", errors="replace").replace(sudo.prompt, "").strip()
            )
            reason = text.splitlines()[0] if text else "sudo ended without running the command"
            raise StepFailed(
                f"become failed: {reason}",
                hint="check the sudoers rules and ansible_become_password for this user",
            )
        if sudo.password is None or answered:
            raise StepFailed(
                "sudo did not accept the become password",
                hint="check ansible_become_password (or --ask-become-pass)",
            )
        pump.channel.sendall(sudo.password.encode() + b"\n")
        answered += 1
    pump.out[:] = pump.out.split(line, 1)[1]
    pump.err[:] = pump.err.split(line, 1)[1]
    return True


def feed_stdin(channel: paramiko.Channel, data: bytes | None) -> threading.Thread | None:
    """Send ``data`` as the command's stdin and close it; large inputs from a thread."""
    if not data or len(data) <= _INLINE_STDIN:
        if data:
            channel.sendall(data)
        channel.shutdown_write()
        return None

    def send() -> None:
        with contextlib.suppress(OSError, EOFError):
            channel.sendall(data)
            channel.shutdown_write()

    thread = threading.Thread(target=send, name="corral-ssh-stdin", daemon=True)
    thread.start()
    return thread


def start_command(channel: paramiko.Channel, line: str) -> None:
    """Send the ``exec`` request for ``line`` without waiting for the server's answer.

    paramiko's ``exec_command`` waits a round trip for it; OpenSSH's client does not, and
    neither does corral: the output is what it waits for anyway. A refusal closes the
    channel, and :func:`refused` tells it from a command killed by a signal.
    """
    channel._event_pending()  # type: ignore[attr-defined] # as exec_command does
    _channel_request(channel, "exec", line, want_reply=True)


def refused(channel: paramiko.Channel) -> bool:
    """Whether the server turned down the channel's ``exec`` request (it has closed)."""
    return not channel.event_ready  # set by the success reply


def send_signal(channel: paramiko.Channel, name: str) -> None:
    """Send a ``signal`` channel request (RFC 4254 6.9); OpenSSH signals the process group."""
    if channel.closed:
        return
    with contextlib.suppress(Exception):
        _channel_request(channel, "signal", name, want_reply=False)


def _channel_request(
    channel: paramiko.Channel, kind: str, argument: str, *, want_reply: bool
) -> None:
    """Send a channel request as paramiko builds its own (it has no call for these two)."""
    from paramiko.common import cMSG_CHANNEL_REQUEST
    from paramiko.message import Message

    message = Message()
    message.add_byte(cMSG_CHANNEL_REQUEST)
    message.add_int(channel.remote_chanid)
    message.add_string(kind)
    message.add_boolean(want_reply)
    message.add_string(argument)
    channel.transport._send_user_message(message)  # type: ignore[union-attr]


LostLink = Callable[[str, BaseException | None], HostUnreachable]
"""Builds the error for a link lost while doing ``what`` (the connection's ``_lost``)."""


def open_exec(link: SshLink, line: str, *, timeout: float, lost: LostLink) -> paramiko.Channel:
    """Open an exec channel running ``line``; a failure here is a lost link."""
    import paramiko

    try:
        channel = link.transport.open_session(timeout=timeout)
    except (paramiko.SSHException, OSError, EOFError) as exc:
        if link.alive():
            raise StepFailed(f"the server refused a new channel: {exc}") from exc
        raise lost("opening a channel", exc) from exc
    try:
        start_command(channel, line)
    except (paramiko.SSHException, OSError, EOFError) as exc:
        channel.close()
        if link.alive():
            raise StepFailed(f"the server refused to run the command: {exc}") from exc
        raise lost("starting a command", exc) from exc
    return channel


def converse(
    channel: paramiko.Channel,
    link: SshLink,
    argv: list[str],
    sudo: SudoCommand | None,
    data: bytes | None,
    deadline: float | None,
    *,
    lost: LostLink,
) -> RawOutput:
    """Get the command going (through sudo's prompt), feed it, and collect what it does."""
    pump = ChannelPump(channel)
    if sudo is not None and not sudo_handshake(pump, sudo, deadline):
        return stop_timed_out(pump, link, grace=SUDO_KILL_GRACE, lost=lost)
    feeder = feed_stdin(channel, data)
    finished = pump.until_exit(deadline)
    if feeder is not None:
        feeder.join(timeout=DRAIN_SECONDS)
    if not finished:
        return stop_timed_out(pump, link, grace=SUDO_KILL_GRACE if sudo else 0.0, lost=lost)
    if channel.exit_status_ready() and channel.recv_exit_status() >= 0:
        rc = channel.recv_exit_status()
    elif not link.alive():
        raise lost(f"running {shown(argv)}", None)
    elif refused(channel):
        raise StepFailed(f"the server refused to run the command {shown(argv)}")
    else:
        rc = -1  # ended by a signal: sshd reports exit-signal, which paramiko drops
    return RawOutput(rc=rc, stdout=bytes(pump.out), stderr=bytes(pump.err))


def stop_timed_out(pump: ChannelPump, link: SshLink, *, grace: float, lost: LostLink) -> RawOutput:
    """Stop a command that ran out of time: its process group, then the channel."""
    channel = pump.channel
    if grace > 0:
        send_signal(channel, "TERM")  # sudo passes it on to the command it runs
        pump.until_exit(time.monotonic() + grace)
    if not channel.closed:
        send_signal(channel, "KILL")
        pump.until_exit(time.monotonic() + DRAIN_SECONDS)
    if not link.alive():
        raise lost("stopping a command that timed out", None)
    rc = channel.recv_exit_status() if channel.exit_status_ready() else -1
    return RawOutput(
        rc=rc if rc >= 0 else -9, stdout=bytes(pump.out), stderr=bytes(pump.err), timed_out=True
    )
