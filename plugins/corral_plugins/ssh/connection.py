"""The ``ssh`` connection (paramiko): the default for every inventory host that is not local.

One SSH connection per host, opened once and reused for every step of the run: each
command is an exec channel on it, and files and ``stat`` go through one SFTP session
(opened on first use; when the server has no SFTP subsystem, through commands instead).
How a host is reached (address, user, keys, jump hosts, host key policy, timeouts) is
resolved by :mod:`corral_plugins.ssh.config`; the link is opened by
:mod:`corral_plugins.ssh.transport`; commands on a channel are
:mod:`corral_plugins.ssh.channel`'s, files :mod:`corral_plugins.ssh.sftp`'s. A lost link
is :class:`~corral.HostUnreachable`; a command that outlives its timeout is killed on the
host (its whole process group, by the ``signal`` channel request OpenSSH servers honour)
and returns ``timed_out=True``.

``become`` goes through ``sudo -S`` as in the local connection: the password is written
to sudo's standard input after its prompt, never into a command line.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from corral import (
    MAKE_DIRS,
    READ_FILE,
    Become,
    CommandResult,
    ConnectionType,
    FileContent,
    FileStat,
    HostUnreachable,
    RegisterConnection,
    StepFailed,
)
from corral.posix import (
    READ_SCRIPT,
    STAT_SCRIPT,
    RawOutput,
    command_argv,
    first_line,
    parse_read_output,
    parse_stat_output,
    stdin_bytes,
)
from corral_plugins.ssh import pool
from corral_plugins.ssh.channel import converse, open_exec, remote_command, send_signal, shown
from corral_plugins.ssh.config import SshTarget, resolve_target
from corral_plugins.ssh.hostkeys import KnownHosts
from corral_plugins.ssh.settings import SETTINGS
from corral_plugins.ssh.sftp import UNKNOWN, SftpFiles
from corral_plugins.ssh.ssh_config import SshConfigFiles
from corral_plugins.ssh.transport import KeyFiles, SshLink, open_link

if TYPE_CHECKING:
    import paramiko

__all__ = ["SETTINGS", "SshConnection", "SshConnector", "connect"]

T = TypeVar("T")

# Exec channels open at once on one connection (OpenSSH's MaxSessions is 10; SFTP takes one).
MAX_CHANNELS = 8
# How long file transfers may go without progress, when the step sets no timeout.
TRANSFER_IDLE_TIMEOUT = 120.0

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

    capabilities = frozenset({MAKE_DIRS, READ_FILE})

    def __init__(
        self, host: str, variables: Mapping[str, Any], *, connector: SshConnector | None = None
    ) -> None:
        self.host = host
        self._variables = variables
        self._connector = connector or SshConnector()
        self._target: SshTarget | None = None
        self._link: SshLink | None = None
        self._sftp: SftpFiles | None = None
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
            send_signal(channel, "KILL")
        with self._sftp_lock:
            # Not closed on its own: closing the link ends it, and a polite close costs a
            # message per host (40 ms at the end of a 100-host run). A pooled link stays.
            sftp, self._sftp = self._sftp, None
        with self._link_lock:
            if self._link is not None:
                if running or pool.current() is None:
                    self._link.close()
                else:  # warm: the link waits for the next run, with its SFTP channel
                    kept = sftp is not None and not sftp.closed
                    self._link.sftp_client = sftp.client if sftp is not None and kept else None
                    pool.give(self.target, self._link)
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
            self._link = pool.take(self.target, connector.known_hosts) or open_link(
                self.target, connector.known_hosts, connector.keys
            )
            return self._link

    def _lost(self, what: str, exc: BaseException | None = None) -> HostUnreachable:
        reason = f": {first_line(str(exc).encode())}" if exc is not None and str(exc) else ""
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
        return self._run_bytes(
            command, stdin=stdin, env=env, cwd=cwd, timeout=timeout, become=become
        ).decoded()

    def _run_bytes(
        self,
        command: Sequence[str] | str,
        *,
        stdin: bytes | str | None = None,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        timeout: float | None = None,
        become: Become | None = None,
    ) -> RawOutput:
        import paramiko

        argv = command_argv(command)
        data = stdin_bytes(stdin)
        sftp = self._sftp
        if sftp is not None:
            sftp.forget()  # the command may create what SFTP found missing
        limit = timeout if timeout is not None else self.target.command_timeout
        deadline = None if limit is None else time.monotonic() + limit
        needs_sudo = become is not None and self._needs_sudo(become)
        line, sudo = remote_command(
            argv,
            env=env or {},
            cwd=cwd,
            become=pool.fresh_become(become) if become is not None and needs_sudo else None,
            become_exe=self.target.become_exe,
        )
        link = self._ensure_link()
        with self._channels:
            channel = open_exec(link, line, timeout=self.target.connect_timeout, lost=self._lost)
            with self._running_lock:
                self._running.add(channel)
            try:
                return converse(channel, link, argv, sudo, data, deadline, lost=self._lost)
            except (OSError, EOFError, paramiko.SSHException) as exc:
                if link.alive():
                    raise StepFailed(
                        f"the channel failed: {first_line(str(exc).encode())}"
                    ) from exc
                raise self._lost(f"running {shown(argv)}", exc) from exc
            finally:
                with self._running_lock:
                    self._running.discard(channel)
                channel.close()

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
        files = None if become is not None and self._needs_sudo(become) else self._sftp_files()
        if files is not None:
            self._sftp_call(files, "write", dest, timeout, lambda: files.put(src, dest, mode))
            return
        data = src if isinstance(src, bytes) else _read_local(src)
        argv = ["/bin/sh", "-c", _PUT_SCRIPT, "put", dest, "" if mode is None else f"{mode:o}"]
        out = self._run_bytes(argv, stdin=data, timeout=timeout, become=become)
        if out.rc != 0 or out.timed_out:
            raise StepFailed(f"cannot write {dest}{_as(become)}: {_why(out)}")

    def get(
        self,
        src: str,
        dest: Path,
        *,
        become: Become | None = None,
        timeout: float | None = None,
    ) -> None:
        """Copy ``src`` on the host to the local path ``dest`` (read as the become user if any)."""
        files = None if become is not None and self._needs_sudo(become) else self._sftp_files()
        if files is not None:
            self._sftp_call(files, "read", src, timeout, lambda: files.get(src, dest))
            return
        out = self._run_bytes(["cat", "--", src], timeout=timeout, become=become)
        if out.rc != 0 or out.timed_out:
            raise StepFailed(f"cannot read {src}{_as(become)}: {_why(out)}")
        try:
            dest.write_bytes(out.stdout)
        except OSError as exc:
            raise StepFailed(f"cannot write {dest}: {exc.strerror}") from exc

    def read_file(
        self, path: str, *, become: Become | None = None, timeout: float | None = None
    ) -> FileContent:
        """Resolve, describe and read ``path`` (see :meth:`corral.Connection.read_file`).

        A plain file we may read as ourselves takes two SFTP requests and no process; a
        symlink, or a ``become`` to another user, one command.
        """
        files = None if become is not None and self._needs_sudo(become) else self._sftp_files()
        if files is not None:
            found = self._sftp_call(files, "stat", path, timeout, lambda: files.lstat(path))
            if found is None:
                return FileContent(path, None)
            if isinstance(found, FileStat) and not found.is_link:
                if not found.is_file:
                    return FileContent(path, found)
                data = self._sftp_call(files, "read", path, timeout, lambda: files.read(path))
                return FileContent(path, found, data)
        argv = ["/bin/sh", "-c", READ_SCRIPT, "read", path]
        out = self._run_bytes(argv, timeout=timeout, become=become)
        if out.rc != 0 or out.timed_out:
            raise StepFailed(f"cannot read {path}{_as(become)}: {_why(out)}")
        try:
            return parse_read_output(out.stdout)
        except ValueError as exc:
            raise StepFailed(f"cannot read {path}: {exc}") from exc

    def make_dirs(
        self, path: str, *, become: Become | None = None, timeout: float | None = None
    ) -> None:
        """Make ``path`` and its missing parents, as ``mkdir -p`` does.

        Over SFTP (no process on the host) when it can; as another user, or when the
        server has no SFTP, through ``mkdir -p``.
        """
        files = None if become is not None and self._needs_sudo(become) else self._sftp_files()
        if files is not None:
            self._sftp_call(files, "create directory", path, timeout, lambda: files.make_dirs(path))
            return
        out = self._run_bytes(["mkdir", "-p", "--", path], timeout=timeout, become=become)
        if out.rc != 0 or out.timed_out:
            raise StepFailed(f"cannot create directory {path}{_as(become)}: {_why(out)}")

    def stat(
        self,
        path: str,
        *,
        checksum: bool = False,
        become: Become | None = None,
        timeout: float | None = None,
    ) -> FileStat | None:
        """Describe ``path`` without following a final symlink; None when it does not exist.

        Over SFTP (no process on the host) when it can; the checksum, and a ``become`` to
        another user, take one command.
        """
        files = None if become is not None and self._needs_sudo(become) else self._sftp_files()
        if files is not None:
            found = self._sftp_call(files, "stat", path, timeout, lambda: files.lstat(path))
            if isinstance(found, FileStat) and checksum and found.is_file:
                out = self.run(["sha1sum", "--", path], timeout=timeout)
                digest = out.stdout.split()[0] if out.rc == 0 and out.stdout else None
                return replace(found, checksum=digest)  # None when unreadable, as stat(1)'s
            if found is not UNKNOWN:
                return found if isinstance(found, FileStat) else None
        out = self.run(
            ["/bin/sh", "-c", STAT_SCRIPT, "stat", path, "1" if checksum else "0"],
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

    def _sftp_files(self) -> SftpFiles | None:
        """The connection's SFTP session, opened on first use; None when the server has none."""
        import paramiko

        with self._sftp_lock:
            if self._sftp is not None and not self._sftp.closed:
                return self._sftp
            if self._sftp_missing:
                return None
            link = self._ensure_link()
            kept, link.sftp_client = link.sftp_client, None  # from the pool: a warm channel
            if kept is not None and not (files := SftpFiles(kept)).closed:
                self._sftp = files  # with nothing learned by the last run
                return files
            try:
                client = paramiko.SFTPClient.from_transport(link.transport)
            except (paramiko.SSHException, OSError, EOFError) as exc:
                if not link.alive():
                    raise self._lost("starting SFTP", exc) from exc
                self._sftp_missing = True  # no sftp subsystem: files go through commands
                return None
            if client is None:
                self._sftp_missing = True
                return None
            self._sftp = SftpFiles(client)
            return self._sftp

    def _sftp_call(
        self, files: SftpFiles, verb: str, path: str, timeout: float | None, action: Callable[[], T]
    ) -> T:
        """Run an SFTP action: a file problem fails the step, a lost link is unreachable."""
        import paramiko

        with files.lock:
            files.set_timeout(timeout or TRANSFER_IDLE_TIMEOUT)
            try:
                return action()
            except (TimeoutError, OSError, paramiko.SSHException, EOFError) as exc:
                if self._link is None or not self._link.alive():
                    raise self._lost(f"transferring {path}", exc) from exc
                if isinstance(exc, TimeoutError) or not isinstance(exc, OSError):
                    self._drop_sftp(files)  # it may be out of step: start a new one next time
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
                raise StepFailed(f"cannot {verb} {path}: {first_line(reason.encode())}") from exc

    def _drop_sftp(self, files: SftpFiles) -> None:
        files.close()
        with self._sftp_lock:
            if self._sftp is files:
                self._sftp = None


def _as(become: Become | None) -> str:
    return f" as {become.user}" if become is not None else ""


def _why(out: RawOutput) -> str:
    return "timed out" if out.timed_out else first_line(out.stderr)


# -- local files ----------------------------------------------------------------------


def _read_local(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise StepFailed(f"cannot read {path}: {exc.strerror}") from exc


# -- registration ------------------------------------------------------------------------


def connect(host: str, variables: Mapping[str, Any]) -> SshConnection:
    """Build an (unopened) ssh connection to ``host`` from its inventory variables."""
    return SshConnection(host, variables)


def register_connections(register: RegisterConnection) -> None:
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
