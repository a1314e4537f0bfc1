"""The ``local`` connection: steps run on the controller itself (``ansible_connection=local``).

Commands run as subprocesses in their own process group, so a timeout kills the
command and everything it started. ``become`` to the user corral already runs as
needs nothing; to another user it goes through ``sudo`` (see :mod:`corral.posix`
and :mod:`corral_plugins.local.sudo`), with the password written to sudo's stdin
after its prompt, never on a command line.
"""

from __future__ import annotations

import os
import shutil
import stat as stat_mod
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from corral import (
    MAKE_DIRS,
    READ_FILE,
    Become,
    CommandResult,
    ConnectionSetting,
    ConnectionType,
    FileContent,
    FileStat,
    RegisterConnection,
    StepFailed,
    hookimpl,
)
from corral.posix import (
    READ_SCRIPT,
    STAT_SCRIPT,
    RawOutput,
    SudoCommand,
    command_argv,
    first_line,
    parse_read_output,
    parse_stat_output,
    stdin_bytes,
    sudo_command,
)
from corral_plugins.local.files import (
    put_local,
    read_file_local,
    read_local,
    stat_local,
    umask,
    user_name,
)
from corral_plugins.local.process import finish_process, killed_rc, start_process, stop_group
from corral_plugins.local.sudo import sudo_handshake

__all__ = ["LocalConnection", "connect"]

# A process run through sudo gets SIGTERM first (sudo relays it to the command,
# which may run in a session of its own), then SIGKILL after this grace period.
_SUDO_KILL_GRACE = 1.0

# Writes stdin to "$1" atomically as the become user, with the octal mode "$2".
_PUT_SCRIPT = """set -e
tmp=$(mktemp "$1.corral-XXXXXX")
trap 'rm -f "$tmp"' EXIT
cat > "$tmp"
chmod "$2" "$tmp"
mv -f "$tmp" "$1"
trap - EXIT
"""


class LocalConnection:
    """A :class:`corral.Connection` to the machine corral runs on.

    Safe to reuse for many steps, from different threads: the only state it
    keeps is the set of commands still running, so ``close()`` can stop them
    when a run is aborted.
    """

    capabilities = frozenset({MAKE_DIRS, READ_FILE})

    def __init__(self, host: str = "localhost", *, become_exe: str = "sudo") -> None:
        self.host = host
        self.become_exe = become_exe
        self._running: set[subprocess.Popen[bytes]] = set()
        self._lock = threading.Lock()

    # -- lifecycle ---------------------------------------------------------

    def open(self) -> None:
        """Nothing to connect to: the host is this machine."""

    def close(self) -> None:
        """Kill the process groups of commands still running; safe to call any number of times."""
        with self._lock:
            running = list(self._running)
        for proc in running:
            stop_group(proc, 0.0)

    def _spawn(
        self, argv: list[str], env: Mapping[str, str], cwd: str | None, *, piped_stdin: bool
    ) -> subprocess.Popen[bytes] | RawOutput:
        proc = start_process(argv, env, cwd, piped_stdin=piped_stdin)
        if isinstance(proc, subprocess.Popen):
            with self._lock:
                self._running.add(proc)
        return proc

    def _forget(self, proc: subprocess.Popen[bytes] | RawOutput) -> None:
        if isinstance(proc, subprocess.Popen):
            with self._lock:
                self._running.discard(proc)

    def __enter__(self) -> LocalConnection:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

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
        """Run an argv list directly, or a string through ``/bin/sh -c``.

        Output is decoded as UTF-8 (undecodable bytes replaced). On timeout the
        whole process group is killed and the result has ``timed_out=True``.
        Raises :class:`StepFailed` when ``become`` cannot switch user.
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
        """Like :meth:`run`, with the output left as bytes."""
        argv = command_argv(command)
        data = stdin_bytes(stdin)
        deadline = None if timeout is None else time.monotonic() + timeout
        if become is not None and self._needs_sudo(become):
            return self._run_sudo(
                argv=argv, data=data, env=dict(env or {}), cwd=cwd, deadline=deadline, become=become
            )
        full_env = {**os.environ, **(env or {})}
        proc = self._spawn(argv, full_env, cwd, piped_stdin=data is not None)
        if isinstance(proc, RawOutput):
            return proc
        try:
            return finish_process(proc, data, deadline, grace=0.0)
        finally:
            self._forget(proc)

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

        Without ``mode``, an existing ``dest`` keeps its mode (and, as root, its
        owner); a new file gets the default mode for the umask.
        """
        if become is not None and self._needs_sudo(become):
            data = src if isinstance(src, bytes) else read_local(src)
            if mode is None:
                current = self.stat(dest, become=become, timeout=timeout)
                mode = stat_mod.S_IMODE(current.mode) if current else 0o666 & ~umask()
            args = [dest, f"{mode:o}"]
            out = self._run_bytes(
                ["/bin/sh", "-c", _PUT_SCRIPT, "put", *args],
                stdin=data,
                timeout=timeout,
                become=become,
            )
            if out.rc != 0:
                raise StepFailed(f"cannot write {dest} as {become.user}: {first_line(out.stderr)}")
            return
        put_local(src, dest, mode)

    def get(
        self,
        src: str,
        dest: Path,
        *,
        become: Become | None = None,
        timeout: float | None = None,
    ) -> None:
        """Copy ``src`` on this machine to ``dest`` (read as the become user when there is one)."""
        if become is not None and self._needs_sudo(become):
            out = self._run_bytes(["cat", "--", src], timeout=timeout, become=become)
            if out.rc != 0:
                raise StepFailed(f"cannot read {src} as {become.user}: {first_line(out.stderr)}")
            dest.write_bytes(out.stdout)
            return
        try:
            shutil.copyfile(src, dest)
        except OSError as exc:
            raise StepFailed(f"cannot read {src}: {exc.strerror}") from exc

    def read_file(
        self, path: str, *, become: Become | None = None, timeout: float | None = None
    ) -> FileContent:
        """Resolve, describe and read ``path`` (as the become user when there is one)."""
        if become is None or not self._needs_sudo(become):
            return read_file_local(path)
        argv = ["/bin/sh", "-c", READ_SCRIPT, "read", path]
        out = self._run_bytes(argv, timeout=timeout, become=become)
        if out.rc != 0:
            raise StepFailed(f"cannot read {path} as {become.user}: {first_line(out.stderr)}")
        try:
            return parse_read_output(out.stdout)
        except ValueError as exc:
            raise StepFailed(f"cannot read {path}: {exc}") from exc

    def make_dirs(
        self, path: str, *, become: Become | None = None, timeout: float | None = None
    ) -> None:
        """Make ``path`` and its missing parents, as ``mkdir -p`` does (as the become user)."""
        if become is not None and self._needs_sudo(become):
            out = self._run_bytes(["mkdir", "-p", "--", path], timeout=timeout, become=become)
            if out.rc != 0:
                raise StepFailed(
                    f"cannot create directory {path} as {become.user}: {first_line(out.stderr)}"
                )
            return
        try:
            os.makedirs(path, exist_ok=True)
        except FileExistsError as exc:
            raise StepFailed(
                f"cannot create directory {path}: it exists and is not a directory"
            ) from exc
        except OSError as exc:
            raise StepFailed(f"cannot create directory {path}: {exc.strerror}") from exc

    def stat(
        self,
        path: str,
        *,
        checksum: bool = False,
        become: Become | None = None,
        timeout: float | None = None,
    ) -> FileStat | None:
        """Describe ``path`` without following a final symlink; None when it does not exist."""
        if become is not None and self._needs_sudo(become):
            out = self.run(
                ["/bin/sh", "-c", STAT_SCRIPT, "stat", path, "1" if checksum else "0"],
                timeout=timeout,
                become=become,
            )
            if out.rc == 3:
                return None
            if out.rc != 0:
                raise StepFailed(f"cannot stat {path} as {become.user}: {out.stderr.strip()}")
            try:
                return parse_stat_output(path, out.stdout)
            except ValueError as exc:
                raise StepFailed(f"cannot stat {path}: unexpected stat output") from exc
        return stat_local(path, checksum)

    # -- become --------------------------------------------------------------

    def _needs_sudo(self, become: Become) -> bool:
        """False when the become user is the one corral already runs as."""
        uid = os.geteuid()
        if become.user in (str(uid), user_name(uid)):
            return False
        if become.method != "sudo":
            raise StepFailed(
                f"become method {become.method!r} is not supported by the local connection",
                hint="use become_method: sudo",
            )
        return True

    def _run_sudo(
        self,
        *,
        argv: list[str],
        data: bytes | None,
        env: dict[str, str],
        cwd: str | None,
        deadline: float | None,
        become: Become,
    ) -> RawOutput:
        exe = shutil.which(self.become_exe)
        if exe is None:
            raise StepFailed(
                f"cannot become {become.user!r}: {self.become_exe!r} is not installed here",
                hint="install sudo, or set ansible_become_exe to its path",
            )
        command = sudo_command(exe, become, argv, env)
        proc = self._spawn(command.argv, dict(os.environ), cwd, piped_stdin=True)
        if isinstance(proc, RawOutput):
            return proc
        try:
            return self._sudo_finish(proc, command, data, deadline)
        finally:
            self._forget(proc)

    def _sudo_finish(
        self,
        proc: subprocess.Popen[bytes],
        command: SudoCommand,
        data: bytes | None,
        deadline: float | None,
    ) -> RawOutput:
        try:
            early_out, early_err = sudo_handshake(proc, command, deadline)
        except TimeoutError:
            stop_group(proc, _SUDO_KILL_GRACE)
            return RawOutput(rc=killed_rc(proc), stdout=b"", stderr=b"", timed_out=True)
        except BaseException:
            stop_group(proc, _SUDO_KILL_GRACE)
            raise
        result = finish_process(proc, data or b"", deadline, grace=_SUDO_KILL_GRACE)
        return RawOutput(
            rc=result.rc,
            stdout=early_out + result.stdout,
            stderr=early_err + result.stderr,
            timed_out=result.timed_out,
        )


# -- registration -------------------------------------------------------------

SETTINGS = (
    ConnectionSetting(
        "ansible_become_exe",
        "the sudo executable used to become another user (a name on PATH or a path)",
        "sudo",
    ),
)


def connect(host: str, variables: Mapping[str, Any]) -> LocalConnection:
    """Build the local connection for ``host`` from its inventory variables."""
    return LocalConnection(host, become_exe=str(variables.get("ansible_become_exe") or "sudo"))


@hookimpl
def corral_register_connections(register: RegisterConnection) -> None:
    """Register the ``local`` connection type."""
    register(
        ConnectionType(
            name="local",
            connect=connect,
            settings=SETTINGS,
            description="Run on the controller itself, as the user corral runs as.",
            aliases=("ansible.builtin.local", "ansible.legacy.local"),
        )
    )
