"""Warm SSH links: logged-in transports kept between runs of one long-lived process.

Off unless enabled: by :func:`enable`, or by ``CORRAL_SSH_POOL_IDLE=SECONDS`` in the
environment (``corral serve``'s warm workers set it). Then a run's
:meth:`~corral_plugins.ssh.connection.SshConnection.close` gives its live link back
here instead of closing it, keyed by everything that identifies the login (the whole
resolved :class:`~corral_plugins.ssh.config.SshTarget`: address, port, user, key files,
password, jump hosts, host key policy and files; and the SSH agent in use), and the next
run's ``open()`` for the same key takes it, skipping TCP, key exchange and login.

What keeps this safe:

- a link idle longer than the timeout is closed (by a janitor thread, and again at take
  time), and a dead one is never handed out (before it is, the server must answer a
  channel request: one round trip): that run opens a new connection, whose host key is
  checked as always;
- a pooled link's host keys are checked again against the known_hosts files as they are
  now before it is reused, so a key removed, changed or revoked there since is not
  trusted on an old connection;
- a link goes back only when no command of the run is still running on it; its SFTP
  channel goes with it (opening one forks an sftp-server on the host), but not what the
  run learned through it (missing paths, user and group names): the next run starts
  that afresh;
- sudo's cached credentials never carry over: while the pool is on, ``become`` runs
  ``sudo -k``, which neither uses nor records them (see :func:`fresh_become`).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Hashable
from dataclasses import dataclass, field, replace

from corral import Become, HostUnreachable
from corral_plugins.ssh.config import SshTarget
from corral_plugins.ssh.hostkeys import KnownHosts
from corral_plugins.ssh.transport import SshLink, check_hop_key

__all__ = [
    "ENV_IDLE",
    "LinkPool",
    "current",
    "disable",
    "enable",
    "fresh_become",
    "give",
    "take",
]

ENV_IDLE = "CORRAL_SSH_POOL_IDLE"
# The janitor looks at least this often, so an expired link does not linger long.
JANITOR_EVERY = 5.0


class LinkPool:
    """Idle links by login key, each with when it was given back."""

    def __init__(self, idle: float) -> None:
        self.idle = idle
        self._links: dict[Hashable, list[tuple[SshLink, float]]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._janitor: threading.Thread | None = None

    def take(self, key: Hashable) -> SshLink | None:
        """The most recently given back live link for ``key`` (expired ones are closed)."""
        found = None
        with self._lock:
            entries = self._links.get(key, [])
            while entries and found is None:
                link, since = entries.pop()
                if time.monotonic() - since < self.idle and link.alive():
                    found = link
                else:
                    link.close()
            if not entries:
                self._links.pop(key, None)
        return found

    def give(self, key: Hashable, link: SshLink) -> None:
        if not link.alive():
            link.close()
            return
        with self._lock:
            self._links.setdefault(key, []).append((link, time.monotonic()))
            if self._janitor is None:
                self._janitor = threading.Thread(
                    target=self._sweep_loop, name="corral-ssh-pool", daemon=True
                )
                self._janitor.start()

    def idle_links(self) -> int:
        with self._lock:
            return sum(len(entries) for entries in self._links.values())

    def sweep(self) -> None:
        """Close the links idle past the timeout, and dead ones."""
        now = time.monotonic()
        closing: list[tuple[SshLink, float]] = []
        with self._lock:
            for key in list(self._links):
                kept: list[tuple[SshLink, float]] = []
                for link, since in self._links[key]:
                    fresh = now - since < self.idle and link.alive()
                    (kept if fresh else closing).append((link, since))
                if kept:
                    self._links[key] = kept
                else:
                    del self._links[key]
        for link, _ in closing:
            link.close()

    def close(self) -> None:
        """Close every idle link and stop the janitor."""
        self._stop.set()
        with self._lock:
            links = [link for entries in self._links.values() for link, _ in entries]
            self._links.clear()
        for link in links:
            link.close()

    def _sweep_loop(self) -> None:
        while not self._stop.wait(min(JANITOR_EVERY, max(0.2, self.idle / 4))):
            self.sweep()


@dataclass
class _Process:
    """The process-wide pool (None: off), and whether the environment was read."""

    pool: LinkPool | None = None
    read_env: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


_process = _Process()


def enable(idle: float) -> LinkPool:
    """Keep links idle up to ``idle`` seconds between runs of this process."""
    with _process.lock:
        if _process.pool is not None:
            _process.pool.close()
        _process.pool = LinkPool(idle)
        _process.read_env = True
        return _process.pool


def disable() -> None:
    """Close every pooled link; connections close their links again."""
    with _process.lock:
        if _process.pool is not None:
            _process.pool.close()
        _process.pool = None
        _process.read_env = True


def current() -> LinkPool | None:
    """The pool, when enabled (the environment is read the first time)."""
    with _process.lock:
        if not _process.read_env:
            _process.read_env = True
            idle = _env_idle(os.environ.get(ENV_IDLE, ""))
            if idle:
                _process.pool = LinkPool(idle)
        return _process.pool


def _env_idle(text: str) -> float:
    """``CORRAL_SSH_POOL_IDLE`` as seconds; 0 (off) when unset, zero or not a number."""
    try:
        seconds = float(text)
    except ValueError:
        return 0.0
    return seconds if seconds > 0 else 0.0


def _key(target: SshTarget) -> Hashable:
    # The agent is part of the login: another agent may hold other keys.
    return (target, os.environ.get("SSH_AUTH_SOCK", ""))


def take(target: SshTarget, known: KnownHosts) -> SshLink | None:
    """A pooled link for ``target`` whose host keys are still trusted, else None."""
    pool = current()
    if pool is None:
        return None
    while (link := pool.take(_key(target))) is not None:
        if not _still_trusted(link, target, known):
            link.close()  # the new connection's own check says why
            return None
        if _answers(link, target.connect_timeout):
            return link
        link.close()  # gone quiet while idle (a host rebooted, a network cut): try another
    return None


def _answers(link: SshLink, timeout: float) -> bool:
    """Whether the server still answers on ``link``: a session channel opened and closed.

    One round trip, so that a link whose peer vanished without a word while it was idle
    fails here, within the connect timeout, rather than as a lost connection mid-task.
    """
    import paramiko

    try:
        channel = link.transport.open_session(timeout=timeout)
    except (paramiko.SSHException, OSError, EOFError):
        return False
    channel.close()
    return True


def give(target: SshTarget, link: SshLink) -> bool:
    """Pool ``link`` for the next run to ``target``; False when the pool is off."""
    pool = current()
    if pool is None:
        return False
    pool.give(_key(target), link)
    return True


def fresh_become(become: Become) -> Become:
    """``become`` through ``sudo -k`` while links are pooled (no cached credentials)."""
    if current() is None or "-k" in become.flags:
        return become
    return replace(become, flags=("-k", *become.flags))


def _still_trusted(link: SshLink, target: SshTarget, known: KnownHosts) -> bool:
    """Whether each hop's host key would still pass the check a new connection makes."""
    hops = [*target.jumps, target.hop]
    transports = [*link.jumps, link.transport]
    if len(hops) != len(transports):
        return False
    for hop, transport in zip(hops, transports, strict=True):
        with contextlib.suppress(HostUnreachable):
            check_hop_key(known, target, hop, transport.get_remote_server_key())
            continue
        return False
    return True
