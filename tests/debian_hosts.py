"""Real Debian 12 hosts for the tests: containers on the private dockerd, reached over SSH.

Usage (the fixtures are registered for every test through tests/conftest.py)::

    def test_something(debian_fleet, corral_project):
        fleet = debian_fleet(3)                  # or debian_fleet(1, systemd=True)
        corral_project.run("run", "site.yml", "-i", str(fleet.inventory))
        assert fleet.exec(fleet.hosts[0], ["id", "deploy"]).rc == 0

- ``debian_fleet(n, systemd=False, repo=None, prefix="deb", docker_options=None,
  image="base")`` starts ``n`` containers of the cached Debian image (tests/debian_image.py:
  built once by debootstrap, about a minute, then kept in ``$CORRAL_TEST_CACHE``) with ``--network
  host``, each sshd on its own 127.A.B.C address and port (never 22), hosts named
  ``deb1``..``debN``, and removes them after the test. About 2 s a host.
  ``systemd=True`` boots systemd as PID 1 (sshd is then ``ssh.service``) and waits for
  ``systemctl is-system-running`` to say running or degraded. ``repo`` (a directory
  built by tests/aptrepo.py) is bind-mounted read-only at ``/srv/corral-repo`` and listed
  in the hosts' apt sources. ``docker_options`` are more arguments for the docker SDK's
  ``containers.create`` (``{"cap_add": ["SYS_ADMIN"]}``, ``{"sysctls": {...}}``); the
  containers share the machine's network (and so its ports and hostname).
  ``image="services"`` is the base image plus PostgreSQL 15 (server, client; no cluster:
  make one with ``pg_createcluster`` on the host's address and a free port), HAProxy,
  python3-psycopg2, rsync and openssl (built once too, a few minutes).
- ``fleet.inventory`` is a YAML inventory (group ``debian``): ssh connection, user
  ``deploy`` with the fleet's key, ``become_method: sudo`` (passwordless), a known_hosts
  file with the hosts' keys. ansible-playbook reads it too.
- ``fleet.exec(host, argv)`` runs a command in the container through the docker SDK (as
  root), independently of corral (``.rc``, ``.stdout``, ``.stderr``); ``fleet.check`` does
  the same and asserts success; ``fleet.write(host, path, text)`` puts a file there.
  ``host`` is a :class:`DebianHost` or its name.
- ``module_debian_fleet`` is the same factory with module scope, for modules that share
  hosts between tests. Under CI=true a host that cannot be built or started fails the test.
"""

from __future__ import annotations

import io
import socket
import subprocess
import tarfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import debian_image
import pytest
import yaml
from conftest import need
from dockerd import DockerDaemon, dockerd, private_dockerd
from sshd import address_block, free_port, keygen

__all__ = [
    "DebianFleet",
    "DebianHost",
    "debian_dockerd",
    "debian_fleet",
    "dockerd",
    "module_debian_fleet",
]

REPO_MOUNT = "/srv/corral-repo"
USER = debian_image.USER
START_TIMEOUT = 120.0


@dataclass
class DebianHost:
    """One container: its inventory name, sshd address and port, and container id."""

    name: str
    address: str
    port: int
    container_id: str = ""


@dataclass
class ExecResult:
    rc: int
    stdout: str
    stderr: str


@dataclass
class DebianFleet:
    """Running Debian containers with the files a playbook run needs to reach them."""

    daemon: DockerDaemon
    image: str
    root: Path
    systemd: bool
    hosts: list[DebianHost] = field(default_factory=list)
    key: Path = Path()

    @property
    def inventory(self) -> Path:
        return self.root / "inventory.yml"

    @property
    def known_hosts(self) -> Path:
        return self.root / "known_hosts"

    def __getitem__(self, name: str) -> DebianHost:
        return next(h for h in self.hosts if h.name == name)

    def __iter__(self) -> Iterator[DebianHost]:
        return iter(self.hosts)

    def _container(self, host: DebianHost | str) -> Any:
        name = host if isinstance(host, str) else host.name
        client = self.daemon.client()
        return client, client.containers.get(self[name].container_id)

    def exec(self, host: DebianHost | str, argv: list[str], user: str = "root") -> ExecResult:
        """Run ``argv`` in the host's container (not through corral); its exit code and output."""
        client, container = self._container(host)
        try:
            rc, (out, err) = container.exec_run(argv, user=user, demux=True)
        finally:
            client.close()
        return ExecResult(rc, (out or b"").decode(errors="replace"), (err or b"").decode())

    def check(self, host: DebianHost | str, argv: list[str]) -> str:
        """Run ``argv`` as root; its output, or AssertionError with its stderr if it fails."""
        result = self.exec(host, argv)
        assert result.rc == 0, f"{argv} exited {result.rc}: {result.stderr}{result.stdout}"
        return result.stdout

    def write(self, host: DebianHost | str, path: str, text: str, mode: int = 0o644) -> None:
        """Put a root-owned file at ``path`` in the host's container."""
        client, container = self._container(host)
        try:
            container.put_archive("/", _tar({path: (text.encode(), mode, 0)}))
        finally:
            client.close()

    def stop(self) -> None:
        client = self.daemon.client()
        try:
            for host in self.hosts:
                if host.container_id:
                    try:
                        client.containers.get(host.container_id).remove(force=True)
                    except Exception:  # already gone
                        continue
        finally:
            client.close()


def _tar(files: dict[str, tuple[bytes, int, int]]) -> bytes:
    """A tar archive of ``{path: (content, mode, uid)}`` for put_archive at ``/``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for path, (content, mode, uid) in files.items():
            info = tarfile.TarInfo(path.lstrip("/"))
            info.size, info.mode, info.uid, info.gid = len(content), mode, uid, uid
            info.mtime = int(time.time())
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def _sshd_config(host: DebianHost) -> str:
    return (
        f"Port {host.port}\nListenAddress {host.address}\nPasswordAuthentication no\n"
        "UseDNS no\nMaxSessions 64\nMaxStartups 64:30:128\n"
    )


def start_debian_fleet(
    daemon: DockerDaemon,
    root: Path,
    count: int,
    *,
    systemd: bool = False,
    repo: Path | None = None,
    prefix: str = "deb",
    docker_options: Mapping[str, Any] | None = None,
    image: str = "base",
) -> DebianFleet:
    """Start ``count`` Debian containers and write the inventory; the caller stops them."""
    client = daemon.client()
    try:
        tag = debian_image.import_image(client, image)
    finally:
        client.close()
    root.mkdir(parents=True, exist_ok=True)
    fleet = DebianFleet(daemon=daemon, image=tag, root=root, systemd=systemd)
    fleet.key = root / "id_ed25519"
    public = keygen(fleet.key)
    block = address_block()
    try:
        for index in range(1, count + 1):
            address = f"127.{block[0]}.{block[1]}.{index + 10}"
            host = DebianHost(f"{prefix}{index}", address, free_port(address))
            fleet.hosts.append(host)
            _start(fleet, host, public, repo, docker_options or {})
        for host in fleet.hosts:
            _wait_ready(fleet, host)
        _write_inventory(fleet)
    except BaseException:
        fleet.stop()
        raise
    return fleet


def _start(
    fleet: DebianFleet,
    host: DebianHost,
    public_key: str,
    repo: Path | None,
    extra: Mapping[str, Any],
) -> None:
    options: dict[str, Any] = {"network_mode": "host", "detach": True, "labels": {"corral": "1"}}
    if fleet.systemd:
        command = ["/sbin/init"]
        options |= {
            "tmpfs": {"/run": "", "/run/lock": ""},
            "environment": {"container": "docker"},
            "volumes": {"/sys/fs/cgroup": {"bind": "/sys/fs/cgroup", "mode": "ro"}},
        }
    else:
        command = ["/bin/sh", "-c", "mkdir -p /run/sshd && exec /usr/sbin/sshd -D -e"]
    files = {
        "/etc/ssh/sshd_config.d/corral.conf": (_sshd_config(host).encode(), 0o644, 0),
        f"/home/{USER}/.ssh/authorized_keys": (
            f"{public_key}\n".encode(),
            0o600,
            debian_image.USER_UID,
        ),
    }
    if repo is not None:
        repo.chmod(0o755)  # apt reads it as _apt
        options.setdefault("volumes", {})[str(repo)] = {"bind": REPO_MOUNT, "mode": "ro"}
        line = f"deb [trusted=yes] file:{REPO_MOUNT} ./\n".encode()
        files["/etc/apt/sources.list.d/corral-repo.list"] = (line, 0o644, 0)
    options |= extra
    client = fleet.daemon.client()
    try:
        container = client.containers.create(fleet.image, command, **options)
        host.container_id = container.id
        container.put_archive("/", _tar(files))
        container.start()
    finally:
        client.close()


def _wait_ready(fleet: DebianFleet, host: DebianHost) -> None:
    """Wait for sshd's banner (and, under systemd, for the boot to finish)."""
    deadline = time.monotonic() + START_TIMEOUT
    if fleet.systemd:
        while True:
            state = fleet.exec(host, ["systemctl", "is-system-running"]).stdout.strip()
            if state in ("running", "degraded"):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{host.name}: systemd did not finish booting ({state})")
            time.sleep(0.3)
    while not _banner(host):
        if time.monotonic() > deadline:
            logs = _logs(fleet, host)
            raise RuntimeError(f"{host.name}: sshd did not answer on {host.port}: {logs}")
        time.sleep(0.2)


def _banner(host: DebianHost) -> bool:
    try:
        with socket.create_connection((host.address, host.port), timeout=2) as conn:
            return conn.recv(4).startswith(b"SSH-")
    except OSError:
        return False


def _logs(fleet: DebianFleet, host: DebianHost) -> str:
    client = fleet.daemon.client()
    try:
        return str(client.containers.get(host.container_id).logs()[-2000:])
    finally:
        client.close()


def _write_inventory(fleet: DebianFleet) -> None:
    keys = fleet.check(fleet.hosts[0], ["sh", "-c", "cat /etc/ssh/ssh_host_*_key.pub"])
    lines = [f"[{h.address}]:{h.port} {k}" for h in fleet.hosts for k in keys.splitlines()]
    fleet.known_hosts.write_text("".join(f"{line}\n" for line in lines if line.strip()))
    ssh_args = f"-o UserKnownHostsFile={fleet.known_hosts} -o StrictHostKeyChecking=yes"
    inventory = {
        "all": {
            "children": {
                "debian": {
                    "hosts": {
                        h.name: {"ansible_host": h.address, "ansible_port": h.port}
                        for h in fleet.hosts
                    }
                }
            },
            "vars": {
                "ansible_connection": "ssh",
                "ansible_user": USER,
                "ansible_ssh_private_key_file": str(fleet.key),
                "ansible_ssh_common_args": ssh_args,
                "ansible_become_method": "sudo",
                "ansible_python_interpreter": "/usr/bin/python3",
            },
        }
    }
    fleet.inventory.write_text(yaml.safe_dump(inventory, sort_keys=False))


FleetFactory = Callable[..., DebianFleet]


def _available(image: str) -> None:
    reason = debian_image.unavailable_reason(image)
    need(reason is None, reason or "")


def _factory(daemon: DockerDaemon, base: Path) -> Iterator[FleetFactory]:
    """Yield a fleet factory; stop every fleet it started afterwards."""
    fleets: list[DebianFleet] = []

    def start(
        count: int,
        *,
        systemd: bool = False,
        repo: Path | None = None,
        prefix: str = "deb",
        docker_options: Mapping[str, Any] | None = None,
        image: str = "base",
    ) -> DebianFleet:
        debian_image.recipe(image)  # a misspelt image name is the test's error, not a skip
        _available(image)
        root = base / f"fleet{len(fleets) + 1}"
        try:
            fleet = start_debian_fleet(
                daemon, root, count, systemd=systemd, repo=repo, prefix=prefix,
                docker_options=docker_options, image=image,
            )  # fmt: skip
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            need(False, f"Debian hosts did not start: {exc}")
            raise
        fleets.append(fleet)
        return fleet

    try:
        yield start
    finally:
        for fleet in fleets:
            fleet.stop()


@pytest.fixture(scope="session")
def debian_dockerd() -> Iterator[DockerDaemon]:
    """One private dockerd for every Debian host of the session, with overlay2.

    The 280 MB image is imported once, and a container is made in a fraction of a
    second (vfs copied the image for each one): most of these tests' time went there.
    """
    yield from private_dockerd(storage_driver="overlay2")


@pytest.fixture
def debian_fleet(debian_dockerd: DockerDaemon, tmp_path: Path) -> Iterator[FleetFactory]:
    """``debian_fleet(n, systemd=False, repo=None, image="base")``: fresh hosts for one test."""
    yield from _factory(debian_dockerd, tmp_path / "debian")


@pytest.fixture(scope="module")
def module_debian_fleet(
    debian_dockerd: DockerDaemon, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FleetFactory]:
    """The same factory, whose hosts live until the end of the test module."""
    yield from _factory(debian_dockerd, tmp_path_factory.mktemp("debian"))
