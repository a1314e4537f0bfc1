"""The setup step: the pure parser on captured output, and a real run on this machine."""

# The samples below are captured output, kept verbatim: long lines and trailing blanks included.
# ruff: noqa: E501, W291

from __future__ import annotations

import getpass
import os
import socket
from collections.abc import Mapping
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from corral import StepContext, StepResult, StepType
from corral_plugins import facts
from corral_plugins.facts.parse import parse_setup_output
from corral_plugins.local import LocalConnection


def _registered() -> dict[str, StepType]:
    found: list[StepType] = []
    facts.corral_register_steps(register=found.append)
    return {step.name: step for step in found}


STEPS = _registered()


def run(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    step = STEPS["setup"]
    Draft202012Validator(step.schema).validate(args)
    return step.run(ctx, args)


# Captured from SETUP_SCRIPT on a Debian 12 machine (the project's CI kind).
DEBIAN = r"""system=Linux
kernel=6.18.44-fc-v669
kernel_version=#1 SMP PREEMPT_DYNAMIC @0
machine=x86_64
nodename=vm
fqdn=vm
os_release.PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
os_release.NAME="Debian GNU/Linux"
os_release.VERSION_ID="12"
os_release.VERSION="12 (bookworm)"
os_release.VERSION_CODENAME=bookworm
os_release.ID=debian
os_release.HOME_URL="https://www.debian.org/"
debian_version=12.11
python.executable=/usr/bin/python3
python.version=3.11.2.final.0
python.type=cpython
user.id=root
user.uid=0
user.gid=0
user.passwd=root:x:0:0:root:/root:/bin/bash
cpu.processors=2
cpu.sockets=1
cpu.cores= 2
cpu.online=2
mem.MemTotal=24684084
mem.MemFree=24352100
mem.SwapTotal=0
mem.SwapFree=0
route.default=default via 192.0.2.1 dev eth0 
addr=1: lo    inet 127.0.0.1/8 scope host lo\       valid_lft forever preferred_lft forever
addr=4: eth0    inet 192.0.2.2/24 brd 192.0.2.255 scope global eth0\       valid_lft forever preferred_lft forever
"""

# An Ubuntu 22.04 VM with a bond, a docker bridge and a container-style interface name.
UBUNTU = r"""system=Linux
kernel=5.15.0-91-generic
kernel_version=#101-Ubuntu SMP Tue Nov 14 13:30:08 UTC 2023
machine=x86_64
nodename=web01.prod.example.com
fqdn=web01.prod.example.com
os_release.NAME="Ubuntu"
os_release.VERSION_ID="22.04"
os_release.VERSION="22.04.3 LTS (Jammy Jellyfish)"
os_release.ID=ubuntu
os_release.ID_LIKE=debian
os_release.UBUNTU_CODENAME=jammy
debian_version=bookworm/sid
python.executable=/usr/bin/python3
python.version=3.10.12.final.0
python.type=cpython
user.id=deploy
user.uid=1001
user.gid=1001
user.passwd=deploy:x:1001:1001:Deploy User,,,:/home/deploy:/bin/bash
cpu.processors=16
cpu.sockets=2
cpu.cores= 4
cpu.online=16
mem.MemTotal=65842132
mem.MemFree=1234567
mem.SwapTotal=2097148
mem.SwapFree=2097148
route.default=default via 10.1.0.1 dev bond0 proto static metric 100
addr=1: lo    inet 127.0.0.1/8 scope host lo\       valid_lft forever preferred_lft forever
addr=3: bond0    inet 10.1.4.21/22 brd 10.1.7.255 scope global bond0\       valid_lft forever
addr=3: bond0    inet 10.1.4.99/32 scope global bond0\       valid_lft forever
addr=5: docker0    inet 172.17.0.1/16 brd 172.17.255.255 scope global docker0\       valid_lft forever
addr=9: eth1@if10    inet 192.168.50.2/24 brd 192.168.50.255 scope global eth1\       valid_lft forever
"""

# A Rocky 9 host without a default route (an isolated network).
ROCKY = r"""system=Linux
kernel=5.14.0-362.8.1.el9_3.x86_64
kernel_version=#1 SMP PREEMPT_DYNAMIC Wed Nov 8 17:36:32 UTC 2023
machine=x86_64
nodename=db1
fqdn=db1.internal
os_release.NAME="Rocky Linux"
os_release.VERSION="9.3 (Blue Onyx)"
os_release.ID="rocky"
os_release.ID_LIKE="rhel centos fedora"
os_release.VERSION_ID="9.3"
user.id=root
user.uid=0
user.gid=0
user.passwd=root:x:0:0:root:/root:/bin/bash
addr=1: lo    inet 127.0.0.1/8 scope host lo\       valid_lft forever preferred_lft forever
addr=2: ens3    inet 10.9.0.5/24 brd 10.9.0.255 scope global ens3\       valid_lft forever
"""

# A minimal Alpine container: no python, no ip(8), so the route comes from /proc/net/route.
ALPINE = r"""system=Linux
kernel=6.1.0-13-amd64
kernel_version=#1 SMP PREEMPT_DYNAMIC Debian 6.1.55-1 (2023-09-29)
machine=aarch64
nodename=3f2a9c1d
fqdn=
os_release.NAME="Alpine Linux"
os_release.ID=alpine
os_release.VERSION_ID=3.19.0
os_release.PRETTY_NAME="Alpine Linux v3.19"
user.id=nobody
user.uid=65534
user.gid=65534
user.passwd=
cpu.processors=4
cpu.sockets=0
cpu.cores=
cpu.online=4
mem.MemTotal=2034400
route.proc=eth0 010011AC
"""

MACOS = r"""system=Darwin
kernel=23.1.0
kernel_version=Darwin Kernel Version 23.1.0
machine=arm64
nodename=build-mac.local
fqdn=build-mac.local
macos_version=14.1.1
user.id=ci
user.uid=501
user.gid=20
"""


def test_parse_debian() -> None:
    found = parse_setup_output(DEBIAN)
    assert found["hostname"] == "vm"
    assert found["distribution"] == "Debian"
    assert found["distribution_version"] == "12.11"
    assert found["distribution_major_version"] == "12"
    assert found["distribution_release"] == "bookworm"
    assert found["os_family"] == "Debian"
    assert found["architecture"] == "x86_64"
    assert found["kernel"] == "6.18.44-fc-v669"
    assert (found["processor_count"], found["processor_cores"], found["processor_vcpus"]) == (
        1,
        2,
        2,
    )
    assert found["memtotal_mb"] == 24105
    assert found["swaptotal_mb"] == 0
    assert found["default_ipv4"] == {
        "interface": "eth0",
        "gateway": "192.0.2.1",
        "address": "192.0.2.2",
        "prefix": "24",
        "netmask": "255.255.255.0",
        "network": "192.0.2.0",
        "broadcast": "192.0.2.255",
        "alias": "eth0",
    }
    assert found["all_ipv4_addresses"] == ["192.0.2.2"]
    assert found["python"]["executable"] == "/usr/bin/python3"
    assert found["python"]["version"] == {
        "major": 3,
        "minor": 11,
        "micro": 2,
        "releaselevel": "final",
        "serial": 0,
    }
    assert found["python_version"] == "3.11.2"
    assert (found["user_id"], found["user_uid"], found["user_dir"]) == ("root", 0, "/root")


def test_parse_ubuntu() -> None:
    found = parse_setup_output(UBUNTU)
    assert (found["hostname"], found["fqdn"], found["domain"]) == (
        "web01",
        "web01.prod.example.com",
        "prod.example.com",
    )
    assert found["distribution"] == "Ubuntu"
    assert found["distribution_version"] == "22.04"  # not /etc/debian_version's "bookworm/sid"
    assert found["distribution_major_version"] == "22"
    assert found["distribution_release"] == "jammy"
    assert found["os_family"] == "Debian"
    assert (found["processor_count"], found["processor_cores"], found["processor_vcpus"]) == (
        2,
        4,
        16,
    )
    assert found["default_ipv4"]["interface"] == "bond0"
    assert found["default_ipv4"]["address"] == "10.1.4.21"  # the interface's first address
    assert found["default_ipv4"]["network"] == "10.1.4.0"
    assert found["all_ipv4_addresses"] == ["10.1.4.21", "10.1.4.99", "172.17.0.1", "192.168.50.2"]
    assert found["user_gecos"] == "Deploy User,,,"
    assert found["user_shell"] == "/bin/bash"


def test_parse_rocky_without_a_default_route() -> None:
    found = parse_setup_output(ROCKY)
    assert (found["distribution"], found["os_family"]) == ("Rocky", "RedHat")
    assert (found["distribution_version"], found["distribution_major_version"]) == ("9.3", "9")
    assert found["distribution_release"] == ""
    assert found["default_ipv4"] == {}
    assert found["all_ipv4_addresses"] == ["10.9.0.5"]
    assert "python" not in found
    assert "memtotal_mb" not in found  # no hardware section was gathered


def test_parse_alpine_without_ip_or_python() -> None:
    found = parse_setup_output(ALPINE)
    assert (found["distribution"], found["os_family"]) == ("Alpine", "Alpine")
    assert found["distribution_version"] == "3.19.0"
    assert found["architecture"] == "aarch64"
    assert found["fqdn"] == "3f2a9c1d"  # hostname -f gave nothing: the node name
    assert found["default_ipv4"] == {"interface": "eth0", "gateway": "172.17.0.1"}
    assert (found["processor_count"], found["processor_cores"], found["processor_vcpus"]) == (
        4,
        1,
        4,
    )
    assert "user_dir" not in found
    assert "python" not in found


def test_parse_macos() -> None:
    found = parse_setup_output(MACOS)
    assert (found["distribution"], found["os_family"]) == ("MacOSX", "Darwin")
    assert found["distribution_version"] == "14.1.1"
    assert found["distribution_major_version"] == "14"
    assert found["hostname"] == "build-mac"


def test_parse_ignores_noise_lines() -> None:
    found = parse_setup_output("garbage without equals\nsystem=Linux\n\n")
    assert found["system"] == "Linux"


@pytest.mark.parametrize(
    ("subset", "sections"),
    [
        (["all"], {"hardware", "network", "virtual"}),
        (["min"], set()),
        (["!all"], set()),
        (["!hardware"], {"network", "virtual"}),
        (["!all", "network"], {"network"}),
        (["hardware"], {"hardware"}),
        (["distribution", "python"], set()),
        (["all", "!network"], {"hardware", "virtual"}),
    ],
)
def test_gather_subset_rules(subset: list[str], sections: set[str]) -> None:
    assert facts._sections(subset) == sections


# -- a real run ---------------------------------------------------------------------------


@pytest.fixture
def ctx() -> StepContext:
    return StepContext(host="localhost", vars={}, conn=LocalConnection())


class CountedConnection(LocalConnection):
    """The local connection, counting the commands run through it."""

    def __init__(self) -> None:
        super().__init__()
        self.commands = 0

    def run(self, *args: Any, **kwargs: Any) -> Any:
        self.commands += 1
        return super().run(*args, **kwargs)


def test_setup_on_this_machine_in_one_round_trip() -> None:
    # How long gathering takes is measured by bench/bench_engine.py (start-up with facts).
    conn = CountedConnection()
    result = run(StepContext(host="localhost", vars={}, conn=conn), {})
    assert conn.commands == 1
    assert not result.failed
    assert result.facts is not None
    found = result.facts
    assert found["hostname"] == socket.gethostname().split(".")[0]
    assert found["user_id"] == getpass.getuser()
    assert found["user_uid"] == os.geteuid()
    assert found["processor_vcpus"] == os.cpu_count()
    assert found["memtotal_mb"] > 0
    assert found["system"] == "Linux"
    assert found["distribution"]
    assert found["os_family"]
    assert found["python"]["version"]["major"] == 3
    assert "default_ipv4" in found
    assert found["gather_subset"] == ["all"]
    assert found["module_setup"] is True
    registered = result.as_dict()["ansible_facts"]
    assert registered["ansible_hostname"] == found["hostname"]  # Ansible's registered shape
    assert registered["module_setup"] is True


def test_setup_min_subset_and_filter(ctx: StepContext) -> None:
    minimal = run(ctx, {"gather_subset": "min"}).facts
    assert minimal is not None
    assert "memtotal_mb" not in minimal
    assert "default_ipv4" not in minimal
    assert "distribution" in minimal
    filtered = run(ctx, {"filter": ["ansible_distribution*", "hostname"]}).facts
    assert filtered is not None
    assert {"distribution", "distribution_version", "hostname"} <= set(filtered)
    assert "kernel" not in filtered


def test_setup_script_is_posix_sh() -> None:
    import shutil
    import subprocess

    checker = shutil.which("dash") or shutil.which("sh")
    assert checker is not None
    subprocess.run([checker, "-n", "-c", facts.SETUP_SCRIPT], check=True, timeout=10)


def test_parse_survives_unexpected_output() -> None:
    odd = (
        "python.version=3.13.0a1+\n"
        "addr=2: eth0    inet not-an-address scope global eth0\n"
        "addr=3: eth1    inet\n"
        "route.proc=eth0 zz\n"
    )
    found = parse_setup_output(odd)
    assert "python" not in found
    assert found["default_ipv4"] == {"interface": "eth0"}
    assert found["all_ipv4_addresses"] == []
