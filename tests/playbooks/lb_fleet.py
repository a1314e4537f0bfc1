"""App hosts behind a real HAProxy, for the tests of the ready upgrade playbooks.

:func:`start_lb_fleet` starts Debian hosts with systemd (tests/debian_hosts.py, the
``services`` image, which has HAProxy): ``app1``..``appN`` for corral-app and ``lb1``
running HAProxy, whose backend ``app`` has one server per app host, named as the host.
Its inventory puts ``app1`` in group ``blue`` and the other app hosts in ``green``.

What the tests check goes around corral: files and units through ``docker exec``
(:meth:`LbFleet.release`), the app and HAProxy's frontend over HTTP from this process
(the containers share its network), HAProxy's state through its stats socket in the
load balancer's container (:meth:`LbFleet.lb_state`).
"""

from __future__ import annotations

import json
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from debian_hosts import DebianFleet, DebianHost, FleetFactory
from haproxy_lb import haproxy_config, servers_state
from sshd import free_port

__all__ = ["LbFleet", "broken_release", "start_lb_fleet"]

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "playbooks" / "roles" / "corral_app" / "files" / "app.py"
APP_PORT = 8080
SOCKET = "/run/haproxy/admin.sock"
RELEASES = "/opt/corral-app/releases"
# One runtime API command (argv[2]) on the socket (argv[1]), run in the container.
CLIENT = (
    "import socket, sys\n"
    "s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])\n"
    "s.sendall(sys.argv[2].encode() + b'\\n'); out = b''\n"
    "while (d := s.recv(65536)): out += d\n"
    "sys.stdout.write(out.decode())\n"
)
WAIT = 60.0
# Debian's unit bind-mounts /dev/log into HAProxy's chroot: a mount namespace, which a
# container cannot set up (status 226/NAMESPACE). The stats socket's directory is made here.
CONTAINER_DROP_IN = "[Service]\nBindReadOnlyPaths=\nRuntimeDirectory=haproxy\n"


@dataclass
class LbFleet:
    fleet: DebianFleet
    apps: list[str]
    inventory: Path
    frontend: str  # http://address:port/

    def host(self, name: str) -> DebianHost:
        return self.fleet.hosts[int(name[3:]) - 1] if name != "lb1" else self.fleet.hosts[-1]

    def ask(self, command: str) -> str:
        return self.fleet.check(self.host("lb1"), ["python3", "-c", CLIENT, SOCKET, command])

    def lb_state(self) -> dict[str, tuple[str, bool]]:
        """HAProxy's servers: name -> (ready|drain|maint, up)."""
        return servers_state(self.ask("show servers state app"))

    def release(self, name: str) -> str:
        """The release the host's ``current`` link points at."""
        return self.fleet.check(self.host(name), ["readlink", "/opt/corral-app/current"])

    def get(self, name: str, path: str = "/") -> dict[str, Any]:
        url = f"http://{self.host(name).address}:{APP_PORT}{path}"
        with urllib.request.urlopen(url, timeout=5) as answer:
            return dict(json.load(answer))

    def through_lb(self, count: int = 12) -> list[dict[str, Any]]:
        """``count`` answers of HAProxy's frontend (round robin over the servers in the pool)."""
        answers = []
        for _ in range(count):
            with urllib.request.urlopen(self.frontend, timeout=5) as answer:
                answers.append(dict(json.load(answer)))
        return answers

    def wait_lb(self, expected: dict[str, tuple[str, bool]]) -> None:
        """Wait until HAProxy's servers are in ``expected`` (its health checks take a moment)."""
        deadline = time.monotonic() + WAIT
        while (state := self.lb_state()) != expected:
            assert time.monotonic() < deadline, f"HAProxy: {state}, expected {expected}"
            time.sleep(0.3)

    def reset(self, ready: list[str] | None = None) -> None:
        """Every app host back on release 1.0.0 (the only one left); only ``ready`` (default
        all) in the pool."""
        for name in self.apps:
            self.fleet.check(
                self.host(name),
                ["sh", "-c", f"ln -sfn {RELEASES}/1.0.0 /opt/corral-app/current && "
                 f"find {RELEASES} -mindepth 1 -maxdepth 1 ! -name 1.0.0 -exec rm -rf {{}} + && "
                 "systemctl restart corral-app"],
            )  # fmt: skip
        pool = self.apps if ready is None else ready
        for name in self.apps:
            self.ask(f"set server app/{name} state {'ready' if name in pool else 'maint'}")
        self.wait_lb({n: ("ready", True) if n in pool else ("maint", False) for n in self.apps})


def _inventory(fleet: DebianFleet, apps: int) -> dict[str, Any]:
    base = yaml.safe_load(fleet.inventory.read_text())
    hosts = {
        f"app{i}": {
            "ansible_host": h.address,
            "ansible_port": h.port,
            "app_bind": h.address,  # the hosts share one network: one address each
        }
        for i, h in enumerate(fleet.hosts[:apps], 1)
    }
    lb = fleet.hosts[-1]
    return {
        "all": {
            "vars": base["all"]["vars"],
            "children": {
                "app": {"hosts": hosts},
                "blue": {"hosts": {"app1": None}},
                "green": {"hosts": {f"app{i}": None for i in range(2, apps + 1)}},
                "lb": {"hosts": {"lb1": {"ansible_host": lb.address, "ansible_port": lb.port}}},
            },
        }
    }


def start_lb_fleet(factory: FleetFactory, apps: int) -> LbFleet:
    """``apps`` app hosts and a load balancer; HAProxy started with every server ready."""
    fleet = factory(apps + 1, systemd=True, image="services", prefix="lb")
    inventory = fleet.root / "lb-inventory.yml"
    inventory.write_text(yaml.safe_dump(_inventory(fleet, apps), sort_keys=False))
    lb = fleet.hosts[-1]
    port = free_port(lb.address)
    servers = [(f"app{i}", h.address, APP_PORT) for i, h in enumerate(fleet.hosts[:apps], 1)]
    fleet.write(lb, "/etc/haproxy/haproxy.cfg", haproxy_config((lb.address, port), servers))
    fleet.write(lb, "/etc/systemd/system/haproxy.service.d/container.conf", CONTAINER_DROP_IN)
    fleet.check(lb, ["systemctl", "daemon-reload"])
    restart = fleet.exec(lb, ["systemctl", "restart", "haproxy"])
    journal = fleet.exec(lb, ["journalctl", "-u", "haproxy", "--no-pager", "-n", "30"]).stdout
    assert restart.rc == 0, f"HAProxy did not start: {restart.stderr}{journal}"
    return LbFleet(fleet, [f"app{i}" for i in range(1, apps + 1)], inventory,
                   f"http://{lb.address}:{port}/")  # fmt: skip


def broken_release(directory: Path, kind: str) -> Path:
    """corral-app with a bug: ``unhealthy`` (/health answers 503 on app2 only), ``errors``
    (/ answers 500) or ``slow`` (/ takes 300 ms)."""
    text = APP.read_text()
    old = 'if path == "/":\n        return 200, {'
    if kind == "unhealthy":
        old = 'return 200, {"status": "ok", "version": SETTINGS["version"]}'
        new = (
            'return 503 if SETTINGS["host"] == "app2" else 200, '
            '{"status": "?", "version": SETTINGS["version"]}'
        )
    elif kind == "errors":
        new = 'if path == "/":\n        return 500, {'
    else:
        new = 'if path == "/":\n        time.sleep(0.3)\n        return 200, {'
    assert old in text, f"corral-app changed: update broken_release ({kind})"
    path = directory / f"app-{kind}.py"
    path.write_text(text.replace(old, new))
    return path
