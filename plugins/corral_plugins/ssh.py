"""The ``ssh`` connection (paramiko): the default for every inventory host that is not local.

One SSH connection per host, opened once and reused for every step of the run: each
command is an exec channel on it, and file transfers share one SFTP session (opened on
first use; when the server has no SFTP subsystem, files go through ``cat`` instead).
How a host is reached (address, user, keys, jump hosts, host key policy, timeouts) is
resolved by :mod:`corral_plugins.ssh_config`; the link itself is opened by
:mod:`corral_plugins.ssh_transport`. A lost link is :class:`~corral.HostUnreachable`;
a command that outlives its timeout is killed on the host (its whole process group, by
the ``signal`` channel request OpenSSH servers honour) and returns ``timed_out=True``.

``become`` goes through ``sudo -S`` as in the local connection: the password is written
to sudo's standard input after its prompt, never into a command line.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import re
import secrets
import select
import shlex
import stat as stat_mod
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, BinaryIO

from corral import (
    Become,
    CommandResult,
    ConnectionType,
    FileStat,
    HostUnreachable,
    StepFailed,
    hookimpl,
)
from corral.hookspecs import RegisterConnection
from corral_plugins.local import _STAT_SCRIPT, _first_line, _Outcome, parse_stat_output
from corral_plugins.ssh_config import SETTINGS, SshConfigFiles, SshTarget, resolve_target
from corral_plugins.ssh_hostkeys import KnownHosts
from corral_plugins.ssh_transport import KeyFiles, SshLink, open_link
from corral_plugins.sudo import SudoCommand, sudo_command

if TYPE_CHECKING:
    import paramiko

__all__ = ["SETTINGS", "SshConnection", "SshConnector", "connect"]

# Exec channels open at once on one connection (OpenSSH's MaxSessions is 10; SFTP takes one).
MAX_CHANNELS = 8
# How long file transfers may go without progress, when the step sets no timeout.
TRANSFER_IDLE_TIMEOUT = 120.0
# After a timeout: how long sudo gets to pass SIGTERM on, and how long output may drain.
_SUDO_KILL_GRACE = 1.0
_DRAIN_SECONDS = 2.0
# Standard input larger than this is fed from a thread, so output keeps flowing meanwhile.
_INLINE_STDIN = 1 << 20
_READ_SIZE = 1 << 16
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# Writes stdin to "$1" atomically: a temp file beside it, then a rename. Mode "$2" (octal),
# else the old file's mode, else 0666 less the umask; the old file's owner is kept when
# the user may set it.
_PUT_SCRIPT = """set -e
tmp=$(mktemp "$1.corral-XXXXXX")
trap 'rm -f "$tmp"' EXIT
cat > "$tmp"
if [ -n "$2" ]; then chmod "$2" "$tmp"
elif [ -e "$1" ]; then chmod "$(stat -L -c %a -- "$1")" "$tmp"
else chmod "$(printf '%o' $((0666 & ~$(umask))))" "$tmp"; fi
if [ -e "$1" ]; then chown "$(stat -L -c %u:%g -- "$1")" "$tmp" 2>/dev/null || true; fi
mv -f "$tmp" "$1"
trap - EXIT
"""

# Runs as the become user, between sudo and the command. On a timeout the ssh server can
# only signal processes of the login user: sudo gets SIGTERM and passes it on to this
# shell, which then ends the command's whole process group (its children included).
_GROUP_KILL_WRAPPER = (
    "trap 'trap - TERM; kill -TERM 0' TERM; exec 3<&0; \"$@\" <&3 3<&- & wait $!"
)


class SshConnector:
    """The ``connect`` factory of the ssh connection type.

    Holds what connections share: parsed known_hosts and ssh_config files, and loaded
    keys. Built when the registry is built; it does no I/O until a connection opens.
    """

    def __init__(self) -> None:
        self.known_hosts = KnownHosts()
        self.configs = SshConfigFiles()
        self.keys = KeyFiles()

    def __call__(self, host: str, variables: Mapping[str, Any]) -> SshConnection:
        return SshConnection(host, variables, connector=self)


class SshConnection:
    """A :class:`corral.Connection` to one host over SSH. Thread-safe."""

    def __init__(
        self, host: str, variables: Mapping[str, Any], *, connector: SshConnector | None = None
    ) -> None:
        self.host = host
        self._variables = variables
        self._connector = connector or SshConnector()
        self._target: SshTarget | None = None
        self._link: SshLink | None = None
        self._sftp: paramiko.SFTPClient | None = None
        self._sftp_missing = False
        self._link_lock = threading.Lock()
        self._sftp_lock = threading.Lock()
        self._channels = threading.BoundedSemaphore(MAX_CHANNELS)
        self._running: set[paramiko.Channel] = set()
        self._running_lock = threading.Lock()

    # -- lifecycle ---------------------------------------------------------

    @property
    def target(self) -> SshTarget:
        """The resolved settings (resolved on first use)."""
        if self._target is None:
            self._target = resolve_target(
                self.host, self._variables, environ=os.environ, configs=self._connector.configs
            )
        return self._target

    @property
    def server_version(self) -> str:
        """The server's SSH version string (``SSH-2.0-OpenSSH_9.2p1 ...``), once open."""
        return self._link.server_version if self._link is not None else ""

    def open(self) -> None:
        """Connect and log in; raises :class:`~corral.HostUnreachable` with the reason."""
        self._ensure_link()

    def close(self) -> None:
        """Kill commands still running, close SFTP and the link (and jump hosts); safe twice."""
        with self._running_lock:
            running = list(self._running)
        for channel in running:
            _signal(channel, "KILL")
        with self._sftp_lock:
            if self._sftp is not None:
                with contextlib.suppress(Exception):
                    self._sftp.close()
                self._sftp = None
        with self._link_lock:
            if self._link is not None:
                self._link.close()
                self._link = None

    def __enter__(self) -> SshConnection:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _ensure_link(self) -> SshLink:
        """The live link; a dead one (after ``ignore_unreachable``) is opened again."""
        with self._link_lock:
            if self._link is not None and self._link.alive():
                return self._link
            if self._link is not None:
                self._link.close()
                self._link = None
                self._sftp = None
            connector = self._connector
            self._link = open_link(self.target, connector.known_hosts, connector.keys)
            return self._link

    def _lost(self, what: str, exc: BaseException | None = None) -> HostUnreachable:
        reason = f": {_first_line(str(exc).encode())}" if exc is not None and str(exc) else ""
        return HostUnreachable(
            f"connection to {self.host} lost while {what}{reason}",
            hint="the host or its sshd went away; check it, then run again",
        )

    # -- commands ----------------------------------------------------------

    def run(
        self,
        command: Sequence[str] | str,
        *,
        stdin: bytes | str | None = None,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        timeout: float | None = None,
        become: Become | None = None,
    ) -> CommandResult:
        """Run an argv list (no shell on our side), or a string through ``/bin/sh -c``.

        Output is decoded as UTF-8 (undecodable bytes replaced). On timeout the remote
        process group is killed and the result has ``timed_out=True``. Raises
        :class:`~corral.HostUnreachable` when the link is lost, :class:`~corral.StepFailed`
        when ``become`` cannot switch user.
        """
        out = self._run_bytes(command, stdin=stdin, env=env, cwd=cwd, timeout=timeout, become=become)
        return CommandResult(
            rc=out.rc,
            stdout=out.stdout.decode("utf-8", errors="replace"),
            stderr=out.stderr.decode("utf-8", errors="replace"),
            timed_out=out.timed_out,
        )

    def _run_bytes(
        self,
        command: Sequence[str] | str,
        *,
        stdin: bytes | str | None = None,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        timeout: float | None = None,
        become: Become | None = None,
    ) -> _Outcome:
        argv = ["/bin/sh", "-c", command] if isinstance(command, str) else list(command)
        data = stdin.encode() if isinstance(stdin, str) else stdin
        limit = timeout if timeout is not None else self.target.command_timeout
        deadline = None if limit is None else time.monotonic() + limit
        needs_sudo = become is not None and self._needs_sudo(become)
        line, sudo = remote_command(
            argv, env=env or {}, cwd=cwd, become=become if needs_sudo else None, become_exe=self.target.become_exe
        )
        link = self._ensure_link()
        with self._channels:
            channel = self._exec(link, line)
            try:
                pump = _Pump(channel)
                with self._running_lock:
                    self._running.add(channel)
                if sudo is not None and not _sudo_handshake(pump, sudo, deadline):
                    return self._kill(pump, link, grace=_SUDO_KILL_GRACE)
                feeder = _feed(channel, data)
                finished = pump.until_exit(deadline)
                if feeder is not None:
                    feeder.join(timeout=_DRAIN_SECONDS)
                if not finished:
                    return self._kill(pump, link, grace=_SUDO_KILL_GRACE if sudo else 0.0)
                if channel.exit_status_ready() and channel.recv_exit_status() >= 0:
                    rc = channel.recv_exit_status()
                elif not link.alive():
                    raise self._lost(f"running {_shown(argv)}")
                else:
                    rc = -1  # ended by a signal: sshd reports exit-signal, which paramiko drops
                return _Outcome(rc=rc, stdout=bytes(pump.out), stderr=bytes(pump.err))
            finally:
                with self._running_lock:
                    self._running.discard(channel)
                channel.close()

    def _exec(self, link: SshLink, line: str) -> paramiko.Channel:
        """Open an exec channel running ``line``; a failure here is a lost link."""
        import paramiko

        try:
            channel = link.transport.open_session(timeout=self.target.connect_timeout)
        except (paramiko.SSHException, OSError, EOFError) as exc:
            if link.alive():
                raise StepFailed(f"the server refused a new channel: {exc}") from exc
            raise self._lost("opening a channel", exc) from exc
        try:
            channel.exec_command(line)
        except (paramiko.SSHException, OSError, EOFError) as exc:
            channel.close()
            if link.alive():
                raise StepFailed(f"the server refused to run the command: {exc}") from exc
            raise self._lost("starting a command", exc) from exc
        return channel

    def _kill(self, pump: _Pump, link: SshLink, *, grace: float) -> _Outcome:
        """Stop a command that ran out of time: its process group, then the channel."""
        channel = pump.channel
        if grace > 0:
            _signal(channel, "TERM")  # sudo passes it on to the command it runs
            pump.until_exit(time.monotonic() + grace)
        if not channel.closed:
            _signal(channel, "KILL")
            pump.until_exit(time.monotonic() + _DRAIN_SECONDS)
        if not link.alive():
            raise self._lost("stopping a command that timed out")
        rc = channel.recv_exit_status() if channel.exit_status_ready() else -1
        return _Outcome(rc=rc if rc >= 0 else -9, stdout=bytes(pump.out), stderr=bytes(pump.err), timed_out=True)

    def _needs_sudo(self, become: Become) -> bool:
        """False when the become user is the one we log in as."""
        if become.user == self.target.hop.user:
            return False
        if become.method != "sudo":
            raise StepFailed(
                f"become method {become.method!r} is not supported by the ssh connection",
                hint="use become_method: sudo",
            )
        return True

    # -- files -------------------------------------------------------------

    def put(
        self,
        src: bytes | Path,
        dest: str,
        *,
        mode: int | None = None,
        become: Become | None = None,
        timeout: float | None = None,
    ) -> None:
        """Write ``src`` to ``dest`` atomically (a temp file beside it, then a rename).

        Without ``mode`` an existing ``dest`` keeps its mode (and, where the user may set
        it, its owner); a new file gets the server's default mode. Over SFTP without
        ``become``; through ``cat`` as the become user, or when the server has no SFTP.
        """
        sftp = None if become is not None and self._needs_sudo(become) else self._sftp_client()
        if sftp is not None:
            with self._sftp_lock:
                self._sftp_put(sftp, src, dest, mode, timeout)
            return
        data = src if isinstance(src, bytes) else _read_local(src)
        argv = ["/bin/sh", "-c", _PUT_SCRIPT, "put", dest, "" if mode is None else f"{mode:o}"]
        out = self._run_bytes(argv, stdin=data, timeout=timeout, become=become)
        if out.rc != 0 or out.timed_out:
            who = f" as {become.user}" if become is not None else ""
            raise StepFailed(f"cannot write {dest}{who}: {_first_line(out.stderr) if not out.timed_out else 'timed out'}")

    def get(
        self,
        src: str,
        dest: Path,
        *,
        become: Become | None = None,
        timeout: float | None = None,
    ) -> None:
        """Copy ``src`` on the host to the local path ``dest`` (read as the become user if any)."""
        sftp = None if become is not None and self._needs_sudo(become) else self._sftp_client()
        if sftp is not None:
            with self._sftp_lock:
                self._sftp_get(sftp, src, dest, timeout)
            return
        out = self._run_bytes(["cat", "--", src], timeout=timeout, become=become)
        if out.rc != 0 or out.timed_out:
            who = f" as {become.user}" if become is not None else ""
            raise StepFailed(f"cannot read {src}{who}: {_first_line(out.stderr) if not out.timed_out else 'timed out'}")
        try:
            dest.write_bytes(out.stdout)
        except OSError as exc:
            raise StepFailed(f"cannot write {dest}: {exc.strerror}") from exc

    def stat(
        self,
        path: str,
        *,
        checksum: bool = False,
        become: Become | None = None,
        timeout: float | None = None,
    ) -> FileStat | None:
        """Describe ``path`` (not following a final symlink) in one command; None when missing."""
        out = self.run(
            ["/bin/sh", "-c", _STAT_SCRIPT, "stat", path, "1" if checksum else "0"],
            timeout=timeout,
            become=become,
        )
        if out.rc == 3:
            return None
        if out.rc != 0 or out.timed_out:
            reason = "timed out" if out.timed_out else out.stderr.strip() or f"exit status {out.rc}"
            raise StepFailed(f"cannot stat {path}: {reason}")
        return parse_stat_output(path, out.stdout)

    # -- SFTP --------------------------------------------------------------

    def _sftp_client(self) -> paramiko.SFTPClient | None:
        """The connection's SFTP session, opened on first use; None when the server has none."""
        import paramiko

        with self._sftp_lock:
            if self._sftp is not None and not self._sftp.get_channel().closed:  # type: ignore[union-attr]
                return self._sftp
            if self._sftp_missing:
                return None
            link = self._ensure_link()
            try:
                self._sftp = paramiko.SFTPClient.from_transport(link.transport)
            except (paramiko.SSHException, OSError, EOFError) as exc:
                if not link.alive():
                    raise self._lost("starting SFTP", exc) from exc
                self._sftp_missing = True  # no sftp subsystem: files go through cat
                return None
            return self._sftp

    def _sftp_call(self, what: str, action: Callable[[], None]) -> None:
        """Run an SFTP action, mapping its errors: file problems fail the step, a lost link is unreachable."""
        import paramiko

        try:
            action()
        except (TimeoutError, OSError, paramiko.SSHException, EOFError) as exc:
            if self._link is None or not self._link.alive():
                raise self._lost(what, exc) from exc
            if isinstance(exc, TimeoutError) or not isinstance(exc, OSError):
                self._drop_sftp()  # the session may be out of step: start a new one next time
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise StepFailed(f"{what} failed: {_first_line(reason.encode())}") from exc

    def _drop_sftp(self) -> None:
        if self._sftp is not None:
            with contextlib.suppress(Exception):
                self._sftp.close()
        self._sftp = None

    def _sftp_put(
        self, sftp: paramiko.SFTPClient, src: bytes | Path, dest: str, mode: int | None, timeout: float | None
    ) -> None:
        channel = sftp.get_channel()
        assert channel is not None
        channel.settimeout(timeout or TRANSFER_IDLE_TIMEOUT)
        directory, name = posixpath.split(dest)
        temp = posixpath.join(directory, f".{name}.corral-{secrets.token_hex(4)}")
        state: dict[str, Any] = {}

        def write() -> None:
            try:
                state["old"] = sftp.stat(dest)
            except FileNotFoundError:
                state["old"] = None
            with sftp.open(temp, "wbx") as handle:
                state["temp"] = True
                handle.set_pipelined(True)
                _copy_into(handle, src)
                old = state["old"]
                keep = stat_mod.S_IMODE(old.st_mode) if old is not None and old.st_mode else None
                wanted = mode if mode is not None else keep
                if wanted is not None:
                    handle.chmod(wanted)
                if old is not None:
                    mine = handle.stat()
                    if (mine.st_uid, mine.st_gid) != (old.st_uid, old.st_gid):
                        with contextlib.suppress(OSError):
                            handle.chown(old.st_uid, old.st_gid)
            sftp.posix_rename(temp, dest)
            state["temp"] = False

        try:
            self._sftp_call(f"writing {dest}", write)
        finally:
            if state.get("temp") and self._sftp is sftp:
                with contextlib.suppress(Exception):
                    sftp.remove(temp)

    def _sftp_get(self, sftp: paramiko.SFTPClient, src: str, dest: Path, timeout: float | None) -> None:
        channel = sftp.get_channel()
        assert channel is not None
        channel.settimeout(timeout or TRANSFER_IDLE_TIMEOUT)

        def read() -> None:
            with open(dest, "wb") as handle:
                sftp.getfo(src, handle)

        self._sftp_call(f"reading {src}", read)


# -- command lines ------------------------------------------------------------------


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
    ``env(1)``; ``become`` wraps it all with :func:`corral_plugins.sudo.sudo_command`.
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


def _shown(argv: Sequence[str]) -> str:
    text = shlex.join(argv)
    return text if len(text) <= 60 else text[:57] + "..."


# -- channel I/O --------------------------------------------------------------------


class _Pump:
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
        """Read everything until the command has exited and its output ended; False at the deadline."""
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


def _sudo_handshake(pump: _Pump, sudo: SudoCommand, deadline: float | None) -> bool:
    """Answer sudo's prompt and wait until the command has started; False at the deadline.

    The channel twin of :func:`corral_plugins.sudo.sudo_handshake`: raises
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
            text = bytes(pump.err).decode("utf-8", errors="replace").replace(sudo.prompt, "").strip()
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


def _feed(channel: paramiko.Channel, data: bytes | None) -> threading.Thread | None:
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


def _signal(channel: paramiko.Channel, name: str) -> None:
    """Send the ``signal`` channel request (RFC 4254 6.9); OpenSSH kills the session's process group.

    paramiko has no public call for it, so the request is built as its own requests are.
    """
    from paramiko.common import cMSG_CHANNEL_REQUEST
    from paramiko.message import Message

    if channel.closed:
        return
    message = Message()
    message.add_byte(cMSG_CHANNEL_REQUEST)
    message.add_int(channel.remote_chanid)
    message.add_string("signal")
    message.add_boolean(False)
    message.add_string(name)
    with contextlib.suppress(Exception):
        channel.transport._send_user_message(message)  # type: ignore[union-attr]


# -- local files ----------------------------------------------------------------------


def _read_local(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise StepFailed(f"cannot read {path}: {exc.strerror}") from exc


def _copy_into(handle: BinaryIO | Any, src: bytes | Path) -> None:
    if isinstance(src, bytes):
        handle.write(src)
        return
    try:
        source = open(src, "rb")  # noqa: SIM115 - closed below; errors must be StepFailed
    except OSError as exc:
        raise StepFailed(f"cannot read {src}: {exc.strerror}") from exc
    with source:
        for block in iter(lambda: source.read(1 << 20), b""):
            handle.write(block)


# -- registration ------------------------------------------------------------------------


def connect(host: str, variables: Mapping[str, Any]) -> SshConnection:
    """Build an (unopened) ssh connection to ``host`` from its inventory variables."""
    return SshConnection(host, variables)


@hookimpl
def corral_register_connections(register: RegisterConnection) -> None:
    """Register the ``ssh`` connection type (the default for hosts that are not local)."""
    register(
        ConnectionType(
            name="ssh",
            connect=SshConnector(),
            settings=SETTINGS,
            description="Run over SSH (paramiko): one connection per host, reused for every step.",
            aliases=("ansible.builtin.ssh", "ansible.legacy.ssh", "paramiko", "paramiko_ssh"),
        )
    )
