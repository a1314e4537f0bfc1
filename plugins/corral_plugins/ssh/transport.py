"""Opening an SSH link for the ``ssh`` connection: TCP, key exchange, host key, login, jumps.

Every failure becomes :class:`~corral.HostUnreachable` with a one-line reason and a
hint, raised ``from`` the paramiko or socket error (:class:`RetryableUnreachable` when
trying again may help: refused, reset, timed out, dropped during the handshake).

Two socket settings matter for speed on a fleet. TCP_NODELAY, because paramiko leaves
Nagle's algorithm on. And TCP_QUICKACK before each read, because sshd does not set
TCP_NODELAY on non-interactive sessions: when it sends two small packets back to back
(the login answer and its host-keys notice, or a command's exit status and close) the
second waits for our acknowledgement, which Linux otherwise delays by up to 40 ms.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from corral import HostUnreachable
from corral_plugins.ssh.config import Hop, SshTarget
from corral_plugins.ssh.hostkeys import KnownHosts, check_host_key

if TYPE_CHECKING:
    import paramiko

__all__ = ["KeyFiles", "QuickAckSocket", "RetryableUnreachable", "SshLink", "open_link"]

# Keepalives a server may leave unanswered before the link counts as dead.
KEEPALIVE_COUNT = 3


class RetryableUnreachable(HostUnreachable):
    """A connection failure that another attempt may get past (refused, reset, timeout)."""


class QuickAckSocket(socket.socket):
    """A TCP socket that acknowledges what it reads at once (see the module docstring)."""

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        with contextlib.suppress(OSError):
            self.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)
        return super().recv(bufsize, flags)


_QUICKACK = getattr(socket, "TCP_QUICKACK", 12)


class KeyFiles:
    """Private keys loaded from files, parsed once per change; shared by connections."""

    def __init__(self) -> None:
        self._cache: dict[Path, tuple[tuple[int, int], paramiko.PKey | str]] = {}
        self._lock = threading.Lock()

    def load(self, path: Path) -> paramiko.PKey | str:
        """The key at ``path``, or why it cannot be used (a short note for the error message)."""
        import paramiko

        try:
            st = path.stat()
        except OSError as exc:
            return f"{path} ({exc.strerror or 'unreadable'})"
        signature = (st.st_mtime_ns, st.st_size)
        with self._lock:
            cached = self._cache.get(path)
        if cached is not None and cached[0] == signature:
            return cached[1]
        loaded: paramiko.PKey | str
        try:
            loaded = paramiko.PKey.from_path(str(path))
        except paramiko.PasswordRequiredException:
            loaded = f"{path} (encrypted: load it into ssh-agent)"
        except (paramiko.SSHException, OSError, ValueError) as exc:
            loaded = f"{path} (not a usable private key: {exc})"
        with self._lock:
            self._cache[path] = (signature, loaded)
        return loaded


@dataclass
class SshLink:
    """An authenticated transport to the target, and those of the jump hosts it goes through."""

    transport: paramiko.Transport
    jumps: list[paramiko.Transport] = field(default_factory=list)
    # Pooled (warm) links keep their SFTP channel: opening one forks an sftp-server on
    # the host. Only the channel: what a run learned through it is not kept.
    sftp_client: paramiko.SFTPClient | None = None

    @property
    def server_version(self) -> str:
        return str(self.transport.remote_version or "")

    def alive(self) -> bool:
        return bool(self.transport.is_active())

    def close(self) -> None:
        for transport in (self.transport, *reversed(self.jumps)):
            with contextlib.suppress(Exception):
                transport.close()


def open_link(target: SshTarget, known: KnownHosts, keys: KeyFiles) -> SshLink:
    """Connect, check host keys and log in, through the jump hosts if any; retries as configured."""
    attempts = 1 + target.connect_retries
    delay = target.retry_delay
    for attempt in range(1, attempts + 1):
        try:
            return _open_once(target, known, keys)
        except RetryableUnreachable as exc:
            if attempt == attempts:
                if attempts > 1:
                    exc.message = f"{exc.message} (after {attempts} attempts)"
                raise
            time.sleep(delay)
            delay = min(delay * 2, 30.0)
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def _open_once(target: SshTarget, known: KnownHosts, keys: KeyFiles) -> SshLink:
    opened: list[paramiko.Transport] = []
    try:
        previous: paramiko.Transport | None = None
        hops = [*target.jumps, target.hop]
        for index, hop in enumerate(hops):
            via = f" via jump host {target.jumps[index - 1].label}" if index else ""
            deadline = time.monotonic() + target.connect_timeout
            if previous is None:
                sock: Any = _tcp_connect(hop, target, deadline)
            else:
                sock = _forward(previous, hop, deadline, via)
            transport = _handshake(sock, hop, target, known, deadline, via)
            opened.append(transport)
            _login(transport, hop, target, keys, deadline, via)
            previous = transport
    except BaseException:
        for transport in reversed(opened):
            with contextlib.suppress(Exception):
                transport.close()
        raise
    link = SshLink(transport=opened[-1], jumps=opened[:-1])
    if target.keepalive:
        for transport in opened:
            transport.set_keepalive(max(1, round(target.keepalive)))
    return link


def _remaining(deadline: float) -> float:
    return max(0.01, deadline - time.monotonic())


# -- TCP --------------------------------------------------------------------------------


def _tcp_connect(hop: Hop, target: SshTarget, deadline: float) -> QuickAckSocket:
    where = f"{hop.address}:{hop.port}"
    try:
        infos = socket.getaddrinfo(hop.address, hop.port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise HostUnreachable(
            f"cannot resolve host name {hop.address!r}: {exc.strerror}",
            hint="check ansible_host (or HostName in ~/.ssh/config)",
        ) from exc
    last: OSError | None = None
    for family, kind, proto, _, address in infos:
        sock = QuickAckSocket(family, kind, proto)
        try:
            sock.settimeout(_remaining(deadline))
            sock.connect(address)
        except OSError as exc:
            sock.close()
            last = exc
            continue
        _tune(sock, target.keepalive)
        return sock
    if isinstance(last, TimeoutError | socket.timeout):
        raise RetryableUnreachable(
            f"cannot connect to {where}: timed out after {target.connect_timeout:g}s",
            hint="check the address and any firewall, or raise corral_ssh_connect_timeout",
        ) from last
    if isinstance(last, ConnectionRefusedError):
        raise RetryableUnreachable(
            f"cannot connect to {where}: connection refused",
            hint="is sshd running there? check ansible_host and ansible_port",
        ) from last
    reason = (last.strerror if last is not None else None) or str(last)
    raise RetryableUnreachable(f"cannot connect to {where}: {reason}") from last


def _tune(sock: socket.socket, keepalive: float) -> None:
    """No Nagle; and let the kernel drop a link whose peer stopped answering."""
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if not keepalive:
        return
    idle = max(1, round(keepalive))
    with contextlib.suppress(OSError, AttributeError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, idle)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, idle)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, KEEPALIVE_COUNT)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, idle * KEEPALIVE_COUNT * 1000)


def _forward(previous: paramiko.Transport, hop: Hop, deadline: float, via: str) -> paramiko.Channel:
    """A direct-tcpip channel from the jump host ``previous`` to ``hop``."""
    import paramiko

    try:
        return previous.open_channel(
            "direct-tcpip", (hop.address, hop.port), ("127.0.0.1", 0), timeout=_remaining(deadline)
        )
    except paramiko.ChannelException as exc:
        raise RetryableUnreachable(
            f"cannot connect to {hop.address}:{hop.port}{via}: {exc.text}",
            hint="check that the jump host can reach the target and allows TCP forwarding",
        ) from exc
    except (paramiko.SSHException, OSError, EOFError) as exc:
        raise RetryableUnreachable(
            f"cannot connect to {hop.address}:{hop.port}{via}: {exc}"
        ) from exc


# -- key exchange and host key ---------------------------------------------------------------


def _handshake(
    sock: Any, hop: Hop, target: SshTarget, known: KnownHosts, deadline: float, via: str
) -> paramiko.Transport:
    import paramiko

    transport = paramiko.Transport(sock)
    try:
        transport.banner_timeout = transport.handshake_timeout = _remaining(deadline)
        transport.auth_timeout = _remaining(deadline)
        _prefer_known_key_types(transport, known, target, hop)
        where = f"{hop.address}:{hop.port}{via}"
        try:
            transport.start_client(timeout=_remaining(deadline))
            # start_client returns at its timeout without a word; this raises then.
            key = transport.get_remote_server_key()
        except (paramiko.SSHException, EOFError, OSError) as exc:
            if transport.is_active():
                raise RetryableUnreachable(
                    f"SSH handshake with {where} timed out after {target.connect_timeout:g}s",
                    hint="is it an SSH server? raise corral_ssh_connect_timeout if it is just slow",
                ) from exc
            raise RetryableUnreachable(
                f"SSH handshake with {where} failed: {_reason(transport.get_exception() or exc)}",
                hint="is an SSH server listening there? (sshd also drops logins over MaxStartups)",
            ) from exc
        check_hop_key(known, target, hop, key, via)
    except BaseException:
        transport.close()
        raise
    return transport


def check_hop_key(
    known: KnownHosts, target: SshTarget, hop: Hop, key: paramiko.PKey, via: str = ""
) -> None:
    """Check the key ``hop`` offered, by the target's policy and known_hosts files
    (:class:`~corral.HostUnreachable` when it is refused); a pooled link's keys are
    checked again with this before the link is reused."""
    check_host_key(
        known,
        label=f"{hop.address}:{hop.port}{via}",
        names=hop.known_names,
        read_files=target.known_hosts_files,
        write_file=target.corral_known_hosts,
        key_type=key.get_name(),
        blob=key.get_base64(),
        policy=target.host_key_checking,
    )


def _prefer_known_key_types(
    transport: paramiko.Transport, known: KnownHosts, target: SshTarget, hop: Hop
) -> None:
    """Ask first for the host key types already on record, as OpenSSH does."""
    files = [*target.known_hosts_files, target.corral_known_hosts]
    recorded = [
        entry.key_type for entry in known.lookup(files, hop.known_names) if not entry.marker
    ]
    if not recorded:
        return
    options = transport.get_security_options()
    available = list(options.key_types)
    wanted: list[str] = []
    for key_type in recorded:
        names = ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"] if key_type == "ssh-rsa" else [key_type]
        wanted += [n for n in names if n in available and n not in wanted]
    if wanted:
        options.key_types = [*wanted, *(n for n in available if n not in wanted)]


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    if isinstance(exc, EOFError) or not text:
        return "the server closed the connection"
    return text.splitlines()[0]


# -- login ------------------------------------------------------------------------------


def _login(
    transport: paramiko.Transport,
    hop: Hop,
    target: SshTarget,
    keys: KeyFiles,
    deadline: float,
    via: str,
) -> None:
    """Try the key files, the password, the agent's keys and the default key files, in order."""
    import paramiko

    tried: list[str] = []
    allowed: Sequence[str] = ()

    def attempt(what: str, method: Any, *args: Any) -> bool:
        nonlocal allowed
        transport.auth_timeout = _remaining(deadline)
        try:
            method(hop.user, *args)
        except paramiko.BadAuthenticationType as exc:
            allowed = exc.allowed_types
            tried.append(f"{what} (not accepted by the server)")
            return False
        except paramiko.AuthenticationException:
            tried.append(f"{what} (rejected)")
            return False
        except (paramiko.SSHException, EOFError, OSError) as exc:
            if not transport.is_active():
                where = f"{hop.address}:{hop.port}{via}"
                raise RetryableUnreachable(
                    f"{where} closed the connection while logging in: {_reason(exc)}"
                ) from exc
            tried.append(f"{what} ({_reason(exc)})")
            return False
        return bool(transport.is_authenticated())

    for path in (*hop.key_files, *target.key_files):
        key = keys.load(path)
        if isinstance(key, str):
            tried.append(key)
        elif attempt(f"key {path}", transport.auth_publickey, key):
            return
    if target.password is not None and attempt(
        "password", transport.auth_password, target.password.reveal()
    ):
        return
    if target.use_agent and os.environ.get("SSH_AUTH_SOCK") and _try_agent(transport, attempt):
        return
    for path in target.default_key_files:
        if path.exists():
            key = keys.load(path)
            if isinstance(key, str):
                tried.append(key)
            elif attempt(f"key {path}", transport.auth_publickey, key):
                return
    transport.close()
    methods = f"; the server accepts: {', '.join(allowed)}" if allowed else ""
    raise HostUnreachable(
        f"authentication as {hop.user!r} on {hop.address}:{hop.port}{via} failed "
        f"(tried: {', '.join(tried) or 'nothing: no key, agent or password'}){methods}",
        hint="check ansible_user, ansible_ssh_private_key_file, the SSH agent or ansible_password",
    )


def _try_agent(transport: paramiko.Transport, attempt: Any) -> bool:
    import paramiko

    try:
        agent = paramiko.Agent()
    except (paramiko.SSHException, OSError):
        return False
    try:
        for index, key in enumerate(agent.get_keys()):
            if attempt(f"agent key {index + 1}", transport.auth_publickey, key):
                return True
    finally:
        with contextlib.suppress(Exception):
            agent.close()
    return False
