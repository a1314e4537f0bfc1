"""The ``local`` connection: steps run on the controller itself (``ansible_connection=local``).

Commands run as subprocesses in their own process group, so a timeout kills the
command and everything it started. ``become`` to the user corral already runs as
needs nothing; to another user it goes through ``sudo`` (see :mod:`corral.posix`
and :mod:`corral_plugins.local.sudo`), with the password written to sudo's stdin
after its prompt, never on a command line.
"""

from __future__ import annotations

import contextlib
import grp
import hashlib
import os
import pwd
import shutil
import signal
import stat as stat_mod
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from corral import (
    MAKE_DIRS,
    Become,
    CommandResult,
    ConnectionSetting,
    ConnectionType,
    FileStat,
    RegisterConnection,
    StepFailed,
    hookimpl,
)
from corral.posix import (
    STAT_SCRIPT,
    RawOutput,
    SudoCommand,
    command_argv,
    first_line,
    parse_stat_output,
    stdin_bytes,
    sudo_command,
)
from corral_plugins.local.sudo import sudo_handshake

__all__ = ["LocalConnection", "connect"]

# After a timeout, how long the killed process group gets to close its pipes.
_DRAIN_SECONDS = 2.0
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

    capabilities = frozenset({MAKE_DIRS})

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
            _stop_group(proc, 0.0)

    def _spawn(
        self, argv: list[str], env: Mapping[str, str], cwd: str | None, *, piped_stdin: bool
    ) -> subprocess.Popen[bytes] | RawOutput:
        proc = _spawn(argv, env, cwd, piped_stdin=piped_stdin)
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
            return _finish(proc, data, deadline, grace=0.0)
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
            data = src if isinstance(src, bytes) else _read_local(src)
            if mode is None:
                current = self.stat(dest, become=become, timeout=timeout)
                mode = stat_mod.S_IMODE(current.mode) if current else 0o666 & ~_umask()
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
        _put_local(src, dest, mode)

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
        return _stat_local(path, checksum)

    # -- become --------------------------------------------------------------

    def _needs_sudo(self, become: Become) -> bool:
        """False when the become user is the one corral already runs as."""
        uid = os.geteuid()
        if become.user in (str(uid), _user_name(uid)):
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
            _stop_group(proc, _SUDO_KILL_GRACE)
            return RawOutput(rc=_killed_rc(proc), stdout=b"", stderr=b"", timed_out=True)
        except BaseException:
            _stop_group(proc, _SUDO_KILL_GRACE)
            raise
        result = _finish(proc, data or b"", deadline, grace=_SUDO_KILL_GRACE)
        return RawOutput(
            rc=result.rc,
            stdout=early_out + result.stdout,
            stderr=early_err + result.stderr,
            timed_out=result.timed_out,
        )


# -- subprocess plumbing -----------------------------------------------------


def _spawn(
    argv: list[str], env: Mapping[str, str], cwd: str | None, *, piped_stdin: bool
) -> subprocess.Popen[bytes] | RawOutput:
    """Start ``argv`` in a new session, or say why it could not start (as a shell would)."""
    try:
        return subprocess.Popen(
            argv,
            stdin=subprocess.PIPE if piped_stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(env),
            cwd=cwd,
            start_new_session=True,
        )
    except OSError as exc:
        if cwd is not None and exc.filename == cwd:
            message = f"cannot change directory to {cwd}: {exc.strerror}"
            return RawOutput(rc=1, stdout=b"", stderr=message.encode())
        rc = 127 if isinstance(exc, FileNotFoundError) else 126
        return RawOutput(rc=rc, stdout=b"", stderr=f"{argv[0]}: {exc.strerror}".encode())


def _finish(
    proc: subprocess.Popen[bytes], data: bytes | None, deadline: float | None, *, grace: float
) -> RawOutput:
    """Feed ``data``, collect the output, and kill the process group at the deadline."""
    try:
        stdout, stderr = proc.communicate(data, timeout=_remaining(deadline))
    except subprocess.TimeoutExpired:
        _stop_group(proc, grace)
        stdout, stderr = _drain(proc)
        return RawOutput(rc=_killed_rc(proc), stdout=stdout, stderr=stderr, timed_out=True)
    except BaseException:
        _stop_group(proc, grace)
        raise
    return RawOutput(rc=proc.returncode, stdout=stdout, stderr=stderr)


def _remaining(deadline: float | None) -> float | None:
    if deadline is None:
        return None
    return max(0.0, deadline - time.monotonic())


def _stop_group(proc: subprocess.Popen[bytes], grace: float) -> None:
    """Kill the process group ``proc`` leads; SIGTERM first when ``grace`` is given."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if grace > 0:
            os.killpg(proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=grace)
        os.killpg(proc.pid, signal.SIGKILL)


def _drain(proc: subprocess.Popen[bytes]) -> tuple[bytes, bytes]:
    """Output left after a kill; a grandchild that escaped the group may hold the pipes open."""
    try:
        return proc.communicate(timeout=_DRAIN_SECONDS)
    except subprocess.TimeoutExpired as exc:
        for pipe in (proc.stdin, proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
        proc.wait()
        return _as_bytes(exc.output), _as_bytes(exc.stderr)


def _as_bytes(value: bytes | str | None) -> bytes:
    if value is None:
        return b""
    return value.encode() if isinstance(value, str) else value


def _killed_rc(proc: subprocess.Popen[bytes]) -> int:
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=_DRAIN_SECONDS)
    return proc.returncode if proc.returncode is not None else -signal.SIGKILL


# -- files, as this process ---------------------------------------------------


def _read_local(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise StepFailed(f"cannot read {path}: {exc.strerror}") from exc


def _put_local(src: bytes | Path, dest: str, mode: int | None) -> None:
    directory = os.path.dirname(dest) or "."
    try:
        existing: os.stat_result | None = os.stat(dest)
    except OSError:
        existing = None
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(dest)}.")
    except OSError as exc:
        raise StepFailed(f"cannot write {dest}: {exc.strerror}") from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            if isinstance(src, bytes):
                handle.write(src)
            else:
                with open(src, "rb") as source:
                    shutil.copyfileobj(source, handle)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is None:
            mode = stat_mod.S_IMODE(existing.st_mode) if existing else 0o666 & ~_umask()
        os.chmod(tmp, mode)
        if existing is not None and os.geteuid() == 0:
            os.chown(tmp, existing.st_uid, existing.st_gid)
        os.replace(tmp, dest)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise StepFailed(f"cannot write {dest}: {exc.strerror}") from exc
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    """The process umask, read without changing it (os.umask would race other threads)."""
    with contextlib.suppress(OSError, ValueError), open("/proc/self/status") as status:
        for line in status:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    return 0o022


def _stat_local(path: str, checksum: bool) -> FileStat | None:
    try:
        st = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise StepFailed(f"cannot stat {path}: {exc.strerror}") from exc
    is_link = stat_mod.S_ISLNK(st.st_mode)
    is_file = stat_mod.S_ISREG(st.st_mode)
    return FileStat(
        path=path,
        is_file=is_file,
        is_dir=stat_mod.S_ISDIR(st.st_mode),
        is_link=is_link,
        mode=st.st_mode,
        size=st.st_size,
        uid=st.st_uid,
        gid=st.st_gid,
        owner=_user_name(st.st_uid),
        group=_group_name(st.st_gid),
        mtime=st.st_mtime,
        link_target=os.readlink(path) if is_link else None,
        checksum=_sha1(path) if checksum and is_file else None,
    )


def _sha1(path: str) -> str | None:
    digest = hashlib.sha1()  # noqa: S324 - Ansible's checksum, not a security use
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return None  # unreadable: no checksum, as Ansible's stat
    return digest.hexdigest()


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


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
