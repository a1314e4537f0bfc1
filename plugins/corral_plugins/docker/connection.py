"""The ``docker`` connection: steps run inside a running container, through the Docker API.

As Ansible's ``community.docker.docker_api`` connection: each command is a
``docker exec`` in the container named by ``ansible_host`` (the inventory name by
default), on the daemon named by the host's ``docker_host``. Files are written and
read through commands in the container (``sh``, ``cat``, ``mv``, ``stat``: any image
with a shell and coreutils or busybox), so a file is replaced atomically, as on
other connections. ``become`` runs the command as that user (``docker exec -u``):
no sudo is needed in the container.
"""

from __future__ import annotations

import stat as stat_mod
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from corral import (
    Become,
    CommandResult,
    ConnectionSetting,
    ConnectionType,
    FileContent,
    FileStat,
    HostUnreachable,
    RegisterConnection,
    StepFailed,
)
from corral.posix import command_argv, parse_stat_output, stdin_bytes
from corral_plugins.docker.api import DEFAULT_TIMEOUT, ExecOutcome, api_error, docker_client
from corral_plugins.docker.api import exec_command as _exec

__all__ = ["SETTINGS", "DockerConnection", "connect"]

# The same scripts, and output format, as the local connection's become paths.
# Writes stdin to "$1" through a temporary file beside it, with octal mode "$2".
_PUT_SCRIPT = """set -e
tmp=$(mktemp "$1.corral-XXXXXX")
trap 'rm -f "$tmp"' EXIT
cat > "$tmp"
chmod "$2" "$tmp"
mv -f "$tmp" "$1"
trap - EXIT
"""

# Exit 3 when "$1" is missing; else "rawmode-hex|size|uid|gid|owner|group|mtime", the
# link target line, and the sha1 line when "$2" is 1 and the path is a regular file.
_STAT_SCRIPT = """p=$1
if [ ! -e "$p" ] && [ ! -L "$p" ]; then exit 3; fi
stat -c '%f|%s|%u|%g|%U|%G|%Y' -- "$p" || exit 1
if [ -L "$p" ]; then readlink -- "$p"; else echo; fi
if [ "$2" = 1 ] && [ -f "$p" ] && [ ! -L "$p" ] && [ -r "$p" ]; then
  sha1sum -- "$p" | cut -d' ' -f1
fi
"""

# A file written where none was, without an explicit mode.
_NEW_FILE_MODE = 0o644


class DockerConnection:
    """A :class:`corral.Connection` into one running container."""

    capabilities: frozenset[str] = frozenset()  # make_dirs goes through ``mkdir -p``

    def __init__(
        self,
        host: str,
        *,
        container: str,
        variables: Mapping[str, Any],
        user: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.host = host
        self.container = container
        self.user = user
        self.timeout = timeout
        self._variables = dict(variables)
        self._client: Any = None
        self._id: str | None = None

    # -- lifecycle ---------------------------------------------------------------------

    def open(self) -> None:
        """Reach the daemon and check the container runs; HostUnreachable if not."""
        from docker.errors import DockerException, NotFound

        if self._client is not None:
            return
        try:
            client = docker_client(self._variables, timeout=self.timeout)
        except StepFailed as exc:
            raise HostUnreachable(exc.message, hint=exc.hint) from exc
        try:
            found = client.containers.get(self.container)
        except NotFound as exc:
            client.close()
            raise HostUnreachable(f"no container named {self.container!r}") from exc
        except DockerException as exc:
            client.close()
            raise HostUnreachable(f"docker: {api_error(exc)}") from exc
        if found.status != "running":
            client.close()
            raise HostUnreachable(
                f"container {self.container!r} is not running (it is {found.status})",
                hint="start it first, e.g. with docker.container",
            )
        self._client, self._id = client, found.id

    def close(self) -> None:
        """Release the API client; safe to call twice."""
        if self._client is not None:
            self._client.close()
        self._client, self._id = None, None

    def __enter__(self) -> DockerConnection:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- commands -------------------------------------------------------------------------

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
        """Run an argv list in the container, or a string through ``/bin/sh -c``."""
        data = stdin_bytes(stdin)
        outcome = self._exec(command, stdin=data, env=env, cwd=cwd, timeout=timeout, become=become)
        return CommandResult(
            rc=outcome.rc if outcome.rc is not None else -1,
            stdout=outcome.stdout.decode("utf-8", errors="replace"),
            stderr=outcome.stderr.decode("utf-8", errors="replace"),
            timed_out=outcome.timed_out,
        )

    def _exec(
        self,
        command: Sequence[str] | str,
        *,
        stdin: bytes | None = None,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        timeout: float | None = None,
        become: Become | None = None,
    ) -> ExecOutcome:
        from docker.errors import DockerException, NotFound
        from requests.exceptions import ConnectionError as RequestsConnectionError

        self.open()
        argv = command_argv(command)
        try:
            return _exec(
                self._client,
                str(self._id),
                argv,
                stdin=stdin,
                env=env,
                workdir=cwd,
                user=become.user if become is not None else self.user,
                timeout=timeout,
            )
        except (NotFound, RequestsConnectionError) as exc:
            raise HostUnreachable(f"container {self.container!r}: {api_error(exc)}") from exc
        except DockerException as exc:
            if "is not running" in api_error(exc):
                raise HostUnreachable(f"container {self.container!r} stopped") from exc
            raise StepFailed(f"docker exec in {self.container!r}: {api_error(exc)}") from exc

    # -- files --------------------------------------------------------------------------------

    def put(
        self,
        src: bytes | Path,
        dest: str,
        *,
        mode: int | None = None,
        become: Become | None = None,
        timeout: float | None = None,
    ) -> None:
        """Write ``src`` to ``dest`` in the container: a temporary file beside it, then ``mv``.

        Without ``mode`` an existing file keeps its mode; a new one gets 0644.
        """
        data = src if isinstance(src, bytes) else _read_local(src)
        if mode is None:
            current = self.stat(dest, become=become, timeout=timeout)
            mode = stat_mod.S_IMODE(current.mode) if current is not None else _NEW_FILE_MODE
        argv = ["/bin/sh", "-c", _PUT_SCRIPT, "put", dest, f"{mode:o}"]
        out = self._exec(argv, stdin=data, timeout=timeout, become=become)
        if out.timed_out or out.rc != 0:
            raise StepFailed(f"cannot write {dest} in {self.container}: {_reason(out)}")

    def get(
        self,
        src: str,
        dest: Path,
        *,
        become: Become | None = None,
        timeout: float | None = None,
    ) -> None:
        """Copy ``src`` in the container to the local path ``dest``."""
        out = self._exec(["cat", "--", src], timeout=timeout, become=become)
        if out.timed_out or out.rc != 0:
            raise StepFailed(f"cannot read {src} in {self.container}: {_reason(out)}")
        dest.write_bytes(out.stdout)

    def stat(
        self,
        path: str,
        *,
        checksum: bool = False,
        become: Become | None = None,
        timeout: float | None = None,
    ) -> FileStat | None:
        """Describe ``path`` in the container (not following a final symlink), or None."""
        argv = ["/bin/sh", "-c", _STAT_SCRIPT, "stat", path, "1" if checksum else "0"]
        out = self._exec(argv, timeout=timeout, become=become)
        if out.rc == 3:
            return None
        if out.timed_out or out.rc != 0:
            raise StepFailed(f"cannot stat {path} in {self.container}: {_reason(out)}")
        return parse_stat_output(path, out.stdout.decode("utf-8", errors="replace"))

    def make_dirs(
        self, path: str, *, become: Become | None = None, timeout: float | None = None
    ) -> None:
        """Not offered (no ``make_dirs`` capability): callers run ``mkdir -p`` instead."""
        raise NotImplementedError("the docker connection has no make_dirs; run mkdir -p")

    def read_file(
        self, path: str, *, become: Become | None = None, timeout: float | None = None
    ) -> FileContent:
        """Not offered (no ``read_file`` capability): ``StepContext.read_file`` falls back."""
        raise NotImplementedError("the docker connection has no read_file; use stat and get")


def _reason(out: ExecOutcome) -> str:
    if out.timed_out:
        return "timed out"
    text = out.stderr.decode("utf-8", errors="replace").strip()
    return text.splitlines()[0] if text else f"exit status {out.rc}"


def _read_local(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise StepFailed(f"cannot read {path}: {exc.strerror}") from exc


# -- registration ---------------------------------------------------------------------------

SETTINGS = (
    ConnectionSetting(
        "ansible_host", "the container's name or id (the inventory name when not set)", None
    ),
    ConnectionSetting(
        "ansible_user", "the user commands run as (the container's own user when not set)", None
    ),
    ConnectionSetting(
        "docker_host",
        "the Docker daemon: unix:///path, tcp://host:port or ssh://user@host "
        "(also ansible_docker_host; DOCKER_HOST or the local socket when not set)",
        None,
    ),
    ConnectionSetting("docker_timeout", "seconds each Docker API call may take", DEFAULT_TIMEOUT),
    ConnectionSetting(
        "docker_api_version", "the Docker API version to use (negotiated when not set)", None
    ),
)


def connect(host: str, variables: Mapping[str, Any]) -> DockerConnection:
    """Build the docker connection for ``host`` from its inventory variables."""
    timeout = variables.get("docker_timeout", variables.get("ansible_docker_timeout"))
    user = variables.get("ansible_user") or variables.get("ansible_docker_user")
    return DockerConnection(
        host,
        container=str(variables.get("ansible_host") or host),
        variables=variables,
        user=str(user) if user else None,
        timeout=float(timeout) if timeout else DEFAULT_TIMEOUT,
    )


def register_connections(register: RegisterConnection) -> None:
    """Register the ``docker`` connection type."""
    register(
        ConnectionType(
            name="docker",
            connect=connect,
            settings=SETTINGS,
            description="Run inside a running container, through the Docker API (docker exec).",
            aliases=("community.docker.docker", "community.docker.docker_api"),
        )
    )
