"""A private Docker daemon for the tests, started once per test module, and a test image.

No registry is reachable, so the image is built ``FROM scratch`` with the static
busybox (Debian's ``busybox-static``) and its applets installed as links, so that
``sh``, ``cat``, ``stat`` and friends exist. The daemon keeps everything in a temp
dir (vfs storage, no iptables, no bridge) and is stopped by its PID at the end.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import struct
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import need

IMAGE = "corral-test/busybox:1"
BUSYBOX = Path("/bin/busybox")

# The container's main process ends at once on SIGTERM (busybox ignores it as PID 1),
# so stopping a test container takes no stop timeout.
DOCKERFILE = """\
FROM scratch
COPY busybox /bin/busybox
COPY passwd group /etc/
RUN ["/bin/busybox", "sh", "-c", "/bin/busybox --install -s /bin && mkdir -m 1777 /tmp"]
CMD ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 60 & wait $!; done"]
"""
PASSWD = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
GROUP = "root:x:0:\nnogroup:x:65534:\n"


@dataclass
class DockerDaemon:
    """A running daemon: its socket URL, its log, and the test image's name."""

    url: str
    base: Path
    image: str = IMAGE

    def client(self) -> Any:
        """A docker SDK client for this daemon, independent of corral's code."""
        import docker

        return docker.DockerClient(base_url=self.url, timeout=60, version="auto")

    def remove_containers(self) -> None:
        """Remove every container (tests start from a daemon with none)."""
        client = self.client()
        try:
            for container in client.containers.list(all=True):
                container.remove(force=True)
        finally:
            client.close()


def start_dockerd(base: Path, storage_driver: str = "vfs") -> tuple[subprocess.Popen[bytes], str]:
    """Start dockerd with all its state under ``base``; RuntimeError with the log if it fails.

    ``vfs`` works everywhere but copies the whole image for each container; ``overlay2``
    makes a container in a fraction of a second (the Debian hosts' 280 MB image).
    """
    (base / "daemon.json").write_text("{}")
    sock = base / "docker.sock"
    log = (base / "dockerd.log").open("wb")
    argv = ["dockerd", "--config-file", str(base / "daemon.json"),
            "--data-root", str(base / "root"), "--exec-root", str(base / "exec"),
            "--pidfile", str(base / "dockerd.pid"),
            "-H", f"unix://{sock}", "--storage-driver", storage_driver, "--iptables=false",
            "--ip6tables=false", "--bridge=none", "--shutdown-timeout", "2"]  # fmt: skip
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
    log.close()
    url = f"unix://{sock}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"dockerd exited with {proc.returncode}: {_log_tail(base)}")
        if sock.exists() and _pings(url):
            return proc, url
        time.sleep(0.1)
    stop_dockerd(proc)
    raise RuntimeError(f"dockerd did not answer within 60 s: {_log_tail(base)}")


def _pings(url: str) -> bool:
    import docker

    try:
        client = docker.APIClient(base_url=url, timeout=5, version="1.41")
    except docker.errors.DockerException:
        return False
    try:
        return bool(client.ping())
    except Exception:
        return False
    finally:
        client.close()


def _log_tail(base: Path) -> str:
    log = base / "dockerd.log"
    return log.read_text(errors="replace")[-2000:] if log.exists() else ""


def stop_dockerd(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the daemon we started (it stops its containerd), SIGKILL if it lingers."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def build_test_image(daemon: DockerDaemon) -> None:
    """Build :data:`IMAGE` from scratch with the static busybox."""
    context = daemon.base / "image-context"
    context.mkdir()
    shutil.copy(BUSYBOX, context / "busybox")
    (context / "passwd").write_text(PASSWD)
    (context / "group").write_text(GROUP)
    (context / "Dockerfile").write_text(DOCKERFILE)
    client = daemon.client()
    try:
        client.images.build(path=str(context), tag=daemon.image, rm=True)
    finally:
        client.close()


def _busybox_is_static() -> bool:
    """Whether /bin/busybox runs without a dynamic loader (no PT_INTERP program header)."""
    try:
        head = BUSYBOX.read_bytes()
    except OSError:
        return False
    if head[:5] != b"\x7fELF\x02" or head[5] != 1:  # 64-bit little-endian ELF only
        return False
    (phoff,) = struct.unpack_from("<Q", head, 32)
    size, count = struct.unpack_from("<HH", head, 54)
    types = (struct.unpack_from("<I", head, phoff + i * size)[0] for i in range(count))
    return 3 not in types  # PT_INTERP


@pytest.fixture(scope="module")
def dockerd() -> Iterator[DockerDaemon]:
    """A private dockerd with the test image; skipped locally (failed under CI) if unavailable."""
    need(_busybox_is_static(), "a static /bin/busybox is needed (apt-get install busybox-static)")
    yield from private_dockerd(build_test_image)


def private_dockerd(
    prepare: Callable[[DockerDaemon], None] | None = None, storage_driver: str = "vfs"
) -> Iterator[DockerDaemon]:
    """Start a dockerd in a temp dir, ``prepare`` it, yield it; stop it and clean up after."""
    need(shutil.which("dockerd") is not None, "dockerd not found (apt-get install docker.io)")
    need(os.geteuid() == 0, "dockerd needs root")
    base = Path(tempfile.mkdtemp(prefix="corral-dockerd-"))
    proc: subprocess.Popen[bytes] | None = None
    try:
        try:
            home = base
            try:
                proc, url = start_dockerd(home, storage_driver)
            except RuntimeError:
                if storage_driver == "vfs":
                    raise
                home = base / "vfs"  # no overlayfs here: vfs is slower but works
                home.mkdir()
                proc, url = start_dockerd(home, "vfs")
            daemon = DockerDaemon(url=url, base=home)
            if prepare is not None:
                prepare(daemon)
        except Exception as exc:
            need(False, f"dockerd did not start: {exc}")
            raise
        yield daemon
        with contextlib.suppress(Exception):
            daemon.remove_containers()
    finally:
        if proc is not None:
            stop_dockerd(proc)
        unmount_below(base)
        shutil.rmtree(base, ignore_errors=True)


def unmount_below(base: Path) -> None:
    """Unmount whatever is mounted under ``base`` (dockerd's network namespace file, a
    failed debootstrap's /proc), deepest first, so that removing the tree stays inside it."""
    prefix = str(base.resolve()) + "/"
    with contextlib.suppress(OSError):
        mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
        for point in sorted((m for m in mounts if m.startswith(prefix)), reverse=True):
            subprocess.run(["umount", "-l", point], capture_output=True, check=False)
