"""Real sshd hosts on loopback addresses, for the SSH tests and ``bench/bench_ssh.py``.

Each host is one ``/usr/sbin/sshd -D`` on an address of its own (127.A.B.C) with a host
key of its own, started by :func:`start_fleet` and stopped by PID. Logins go to a
non-root test user (:data:`TEST_USER`, created once with an empty home, so no heavy
``~/.bashrc`` slows every command) who may ``sudo`` to root without a password and to any
other user with one (:attr:`SshdFleet.password`). Needs root, ``openssh-server`` and
``sudo``; :func:`unavailable_reason` says why not when they are missing.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SSHD = "/usr/sbin/sshd"
SFTP_SERVER = "/usr/lib/openssh/sftp-server"
# One user per pytest-xdist worker ("corral-ssh-test-gw1"): each fleet sets its own
# random password and takes the sudo rules away when it stops, which would pull the rug
# from under another worker's fleet sharing the user.
TEST_USER = "corral-ssh-test" + (
    f"-{os.environ['PYTEST_XDIST_WORKER']}" if os.environ.get("PYTEST_XDIST_WORKER") else ""
)
TEST_HOME = Path("/var/lib") / TEST_USER
SUDOERS_FILE = Path("/etc/sudoers.d") / TEST_USER
# The user may become root without a password, and anyone else with one; sudo never
# caches the password, so every become-with-password test really sends it.
SUDOERS_RULES = f"""Defaults:{TEST_USER} !requiretty, timestamp_timeout=0, !lecture
{TEST_USER} ALL=(ALL:ALL) ALL
{TEST_USER} ALL=(root) NOPASSWD: ALL
"""
START_TIMEOUT = 10.0


def unavailable_reason() -> str | None:
    """Why real sshd hosts cannot run here, or None when they can."""
    if os.geteuid() != 0:
        return "the sshd tests need root (to create the test user and run sshd)"
    for tool in (SSHD, SFTP_SERVER, "/usr/bin/ssh-keygen", "/usr/bin/sudo"):
        if not Path(tool).exists():
            return f"{tool} is missing: run scripts/install-test-services"
    return None


def _run(argv: Sequence[str], *, stdin: str | None = None) -> None:
    subprocess.run(argv, input=stdin, text=True, check=True, capture_output=True, timeout=60)


def ensure_test_user(password: str) -> None:
    """Create :data:`TEST_USER` (bash, empty home) and its sudo rules; set its password."""
    try:
        import pwd

        pwd.getpwnam(TEST_USER)
    except KeyError:
        _run(
            [
                "useradd",
                "--no-create-home",
                "--home-dir",
                str(TEST_HOME),
                "--shell",
                "/bin/bash",
                TEST_USER,
            ]
        )
    TEST_HOME.mkdir(mode=0o755, exist_ok=True)
    shutil.chown(TEST_HOME, TEST_USER, TEST_USER)
    # chpasswd sets a real password (sudo asks for it) and unlocks the account for sshd.
    _run(["chpasswd"], stdin=f"{TEST_USER}:{password}\n")
    candidate = SUDOERS_FILE.with_suffix(".tmp")
    candidate.write_text(SUDOERS_RULES)
    candidate.chmod(0o440)
    _run(["visudo", "-cf", str(candidate)])
    candidate.replace(SUDOERS_FILE)


def retire_test_user() -> None:
    """Take the test user's sudo rights and password away again (its key logins end with sshd)."""
    with contextlib.suppress(FileNotFoundError):
        SUDOERS_FILE.unlink()
    with contextlib.suppress(subprocess.CalledProcessError, FileNotFoundError):
        _run(["usermod", "-p", "*", TEST_USER])


def keygen(path: Path, kind: str = "ed25519") -> str:
    """Write a new private key at ``path`` (no passphrase); return its public line."""
    _run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", path.name, "-f", str(path)])
    return Path(f"{path}.pub").read_text().strip()


def free_port(address: str) -> int:
    with socket.socket() as probe:
        probe.bind((address, 0))
        return int(probe.getsockname()[1])


def descendants(pid: int) -> list[int]:
    """PIDs of every living descendant of ``pid`` (sshd's per-connection children)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def address_block() -> tuple[int, int]:
    """A random 127.A.B.0/24 block, so concurrent test runs do not collide."""
    return random.randint(100, 250), random.randint(1, 250)


@dataclass
class SshdHost:
    """One running sshd: its name, address, port, host key and process."""

    name: str
    address: str
    port: int
    directory: Path
    host_key_line: str  # "ssh-ed25519 AAAA... comment"
    process: subprocess.Popen[bytes] | None = None
    options: dict[str, str] = field(default_factory=dict)

    @property
    def log(self) -> Path:
        return self.directory / "sshd.log"

    @property
    def config(self) -> Path:
        return self.directory / "sshd_config"

    def known_hosts_line(self) -> str:
        """The line ``~/.ssh/known_hosts`` would hold for this host."""
        key_type, blob = self.host_key_line.split()[:2]
        return f"[{self.address}]:{self.port} {key_type} {blob}"

    def kill(self) -> None:
        """Kill this sshd and every session it serves, as if the machine died."""
        process, self.process = self.process, None
        if process is None:
            return
        for pid in [process.pid, *descendants(process.pid)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process.wait(timeout=10)

    def stop(self) -> None:
        """Stop the listener (sessions in progress are killed too)."""
        self.kill()


@dataclass
class SshdFleet:
    """A set of sshd hosts sharing one client key, test user and password."""

    root: Path
    client_key: Path
    password: str
    user: str = TEST_USER
    hosts: list[SshdHost] = field(default_factory=list)
    block: tuple[int, int] = field(default_factory=address_block)
    _next: int = 0

    def next_address(self) -> str:
        """A fresh loopback address in this fleet's 127.A.B.C block."""
        self._next += 1
        a, b = self.block
        return f"127.{a}.{b + self._next // 250}.{self._next % 250 + 1}"

    def __iter__(self) -> Iterator[SshdHost]:
        return iter(self.hosts)

    def __getitem__(self, name: str) -> SshdHost:
        return next(h for h in self.hosts if h.name == name)

    def known_hosts(self, hosts: Iterable[SshdHost] | None = None) -> str:
        return "".join(
            h.known_hosts_line() + "\n" for h in (self.hosts if hosts is None else hosts)
        )

    def host_vars(self, host: SshdHost) -> dict[str, str]:
        """The inventory variables that reach ``host`` as the test user with the client key."""
        return {
            "ansible_host": host.address,
            "ansible_port": str(host.port),
            "ansible_user": self.user,
            "ansible_ssh_private_key_file": str(self.client_key),
        }

    def inventory_ini(
        self, hosts: Iterable[SshdHost] | None = None, group: str = "fleet", **extra: str
    ) -> str:
        """An INI inventory of ``hosts`` (default: all) in ``group``, with ``extra`` group vars."""
        lines = [f"[{group}]"]
        for host in self.hosts if hosts is None else hosts:
            pairs = " ".join(f"{k}={v}" for k, v in self.host_vars(host).items())
            lines.append(f"{host.name} {pairs}")
        if extra:
            lines += ["", f"[{group}:vars]", *(f"{k}={v}" for k, v in extra.items())]
        return "\n".join(lines) + "\n"

    def add_host(
        self,
        name: str,
        address: str | None = None,
        *,
        sftp: bool = True,
        key_type: str = "ed25519",
        options: dict[str, str] | None = None,
    ) -> SshdHost:
        """Configure and start one more sshd; returns once it accepts connections."""
        address = address or self.next_address()
        directory = self.root / name
        directory.mkdir(parents=True, exist_ok=True)
        key = directory / f"host_key_{key_type}"
        if key.exists():
            key.unlink()
            Path(f"{key}.pub").unlink()
        line = keygen(key, key_type)
        host = SshdHost(
            name, address, free_port(address), directory, line, options=dict(options or {})
        )
        settings = {
            "ListenAddress": f"{address}:{host.port}",
            "HostKey": str(key),
            "PidFile": "none",
            "UsePAM": "no",
            "StrictModes": "no",
            "AuthorizedKeysFile": str(self.root / "authorized_keys"),
            "PasswordAuthentication": "yes",
            "KbdInteractiveAuthentication": "no",
            "PermitRootLogin": "prohibit-password",
            "UseDNS": "no",
            "LogLevel": "VERBOSE",
            "MaxStartups": "200",
            "MaxSessions": "20",
            "AllowTcpForwarding": "yes",
            "PrintMotd": "no",
            **({"Subsystem": f"sftp {SFTP_SERVER}"} if sftp else {}),
            **host.options,
        }
        host.config.write_text("".join(f"{k} {v}\n" for k, v in settings.items()))
        self._start(host)
        self.hosts.append(host)
        return host

    def restart(self, host: SshdHost, *, new_key: bool = False) -> None:
        """Stop ``host`` and start it again on its address and port (with a new key if asked)."""
        host.kill()
        if new_key:
            key = Path(
                next(
                    line.split()[1]
                    for line in host.config.read_text().splitlines()
                    if line.startswith("HostKey ")
                )
            )
            key.unlink()
            Path(f"{key}.pub").unlink()
            host.host_key_line = keygen(key, key.name.rsplit("_", 1)[1])
        self._start(host)

    def _start(self, host: SshdHost) -> None:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        with open(host.log, "ab") as log:
            # stdout to /dev/null: an sshd left holding a test's output pipe hangs the run.
            host.process = subprocess.Popen(
                [SSHD, "-D", "-e", "-f", str(host.config)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if host.process.poll() is not None:
                raise RuntimeError(f"sshd for {host.name} exited: {host.log.read_text()[-2000:]}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection((host.address, host.port), timeout=1),
            ):
                return
            time.sleep(0.01)
        raise RuntimeError(f"sshd for {host.name} did not listen within {START_TIMEOUT}s")

    def scratch(self, name: str) -> Path:
        """A new directory anyone may write in (the test user works there over SSH)."""
        path = self.root / "scratch" / name
        path.mkdir(parents=True)
        path.chmod(0o777)
        path.parent.chmod(0o755)
        return path

    def stop(self) -> None:
        """Kill every sshd (and its sessions), then remove the fleet's directory."""
        for host in self.hosts:
            host.kill()
        shutil.rmtree(self.root, ignore_errors=True)


def start_fleet(count: int, *, prefix: str = "h") -> SshdFleet:
    """Start ``count`` sshd hosts named ``{prefix}01``..., each on its own loopback address.

    Creates the test user (see :func:`ensure_test_user`), a client key authorized on
    every host, and a random password for the user, in a new directory under /tmp that
    the test user can read (sshd reads ``authorized_keys`` as the user, and pytest's
    temporary directories are private). Call :meth:`SshdFleet.stop` to end it all.
    """
    import secrets
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="corral-sshd-"))
    root.chmod(0o755)
    password = "pw-" + secrets.token_hex(8)
    ensure_test_user(password)
    client_key = root / "client_key"
    public = keygen(client_key)
    (root / "authorized_keys").write_text(public + "\n")
    fleet = SshdFleet(root=root, client_key=client_key, password=password)
    try:
        for index in range(1, count + 1):
            fleet.add_host(f"{prefix}{index:02d}")
    except BaseException:
        fleet.stop()
        raise
    return fleet


@contextlib.contextmanager
def module_fleet(
    tmp_path_factory: pytest.TempPathFactory,
    count: int,
    *,
    prefix: str = "h",
    prepare: Callable[[SshdFleet], None] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Iterator[SshdFleet]:
    """A test module's fleet: ``count`` hosts, a private ``HOME`` and no SSH agent.

    ``prepare`` adds hosts or changes the fleet before ``known_hosts`` is written in
    the fleet's root; ``environ`` sets more variables for the module. Fails the test
    (with ``CI=true``) or skips it when sshd cannot run here.
    """
    from conftest import need

    reason = unavailable_reason()
    need(reason is None, reason or "")
    home = tmp_path_factory.mktemp("home")
    (home / ".ssh").mkdir()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOME", str(home))
        for name, value in (environ or {}).items():
            patch.setenv(name, value.format(home=home))
        patch.delenv("SSH_AUTH_SOCK", raising=False)
        fleet = start_fleet(count, prefix=prefix)
        try:
            if prepare is not None:
                prepare(fleet)
            (fleet.root / "known_hosts").write_text(fleet.known_hosts())
            yield fleet
        finally:
            fleet.stop()
            retire_test_user()
