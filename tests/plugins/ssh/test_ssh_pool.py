"""The ssh plugin's link pool (``corral_plugins.ssh.pool``) against real sshd hosts.

Each test enables the process-wide pool as a warm worker does, and disables it after.
A login is counted in the host's sshd log (``LogLevel VERBOSE``).
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from typing import Any

import pytest
from served import wait_for
from sshd import SshdFleet, SshdHost, descendants, module_fleet

from corral import Become, HostUnreachable, Secret, StepFailed
from corral_plugins.ssh import pool
from corral_plugins.ssh.connection import SshConnection


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshdFleet]:
    environ = {"CORRAL_HOME": "{home}/corral"}
    with module_fleet(tmp_path_factory, 4, prefix="p", environ=environ) as fleet:
        yield fleet


@pytest.fixture
def pooled() -> Iterator[pool.LinkPool]:
    try:
        yield pool.enable(300)
    finally:
        pool.disable()


def connect(fleet: SshdFleet, name: str, **extra: Any) -> SshConnection:
    variables = {
        **fleet.host_vars(fleet[name]),
        "corral_known_hosts": str(fleet.root / "known_hosts"),
        **extra,
    }
    return SshConnection(name, variables)


def logins(host: SshdHost) -> int:
    return host.log.read_text().count("Accepted publickey")


def test_a_closed_connection_leaves_its_link_for_the_next_one(
    fleet: SshdFleet, pooled: pool.LinkPool
) -> None:
    host = fleet["p01"]
    before = logins(host)
    # In the fleet's own directory: a fixed name in /tmp may belong to another test user.
    target = str(fleet.scratch("pool") / "written")
    with connect(fleet, "p01") as first:
        assert first.run(["echo", "one"]).stdout == "one\n"
        first.put(b"data", target)  # an SFTP session, closed at the end
    assert pooled.idle_links() == 1
    with connect(fleet, "p01") as second:
        assert second.run(["echo", "two"]).stdout == "two\n"
        assert second.read_file(target).data == b"data"
    assert logins(host) - before == 1
    pool.disable()
    with connect(fleet, "p01") as third:  # off: a connection of its own, closed after
        assert third.run(["true"]).rc == 0
    assert logins(host) - before == 2


def test_a_pooled_link_past_its_idle_time_is_not_reused(fleet: SshdFleet) -> None:
    host = fleet["p02"]
    before = logins(host)
    short = pool.enable(0.05)
    try:
        with connect(fleet, "p02") as first:
            first.run(["true"])

        def expired() -> bool:
            short.sweep()
            return not short.idle_links()

        wait_for(expired, 10, "the link to expire")
        with connect(fleet, "p02") as second:
            second.run(["true"])
    finally:
        pool.disable()
    assert logins(host) - before == 2


def test_a_known_hosts_change_is_checked_before_a_pooled_link_is_reused(
    fleet: SshdFleet, pooled: pool.LinkPool
) -> None:
    host, other = fleet["p03"], fleet["p04"]
    with connect(fleet, "p03") as first:
        first.run(["true"])
    assert pooled.idle_links() == 1
    # known_hosts now records another key for the host: the pooled link is not trusted,
    # and the new connection's own check refuses the host.
    known = fleet.root / "known_hosts"
    original = known.read_text()
    key_type, blob = other.host_key_line.split()[:2]
    known.write_text(
        original.replace(host.known_hosts_line(), f"[{host.address}]:{host.port} {key_type} {blob}")
    )
    try:
        with pytest.raises(HostUnreachable, match="has CHANGED"):
            connect(fleet, "p03").open()
    finally:
        known.write_text(original)
    assert pooled.idle_links() == 0


def test_sudo_credentials_do_not_carry_over_a_pooled_link(
    fleet: SshdFleet, pooled: pool.LinkPool
) -> None:
    # The test user needs its password to become anyone but root (see tests/sshd.py); a
    # become without it must not ride on what the previous connection's user typed.
    with_password = Become(user="nobody", password=Secret(fleet.password))
    with connect(fleet, "p01") as first:
        assert first.run(["id", "-un"], become=with_password).stdout == "nobody\n"
    with connect(fleet, "p01") as second:
        with pytest.raises(StepFailed):
            second.run(["id", "-un"], become=Become(user="nobody"))
        assert second.run(["id", "-un"], become=with_password).stdout == "nobody\n"


def test_a_pooled_link_whose_server_stopped_answering_is_replaced(
    fleet: SshdFleet, pooled: pool.LinkPool
) -> None:
    host = fleet["p04"]
    assert host.process is not None
    before = logins(host)
    quick = {"corral_ssh_connect_timeout": "1"}
    with connect(fleet, "p04", **quick) as first:
        first.run(["true"])
    # The session's sshd processes freeze: the link looks alive but nothing answers on it
    # (as when a host hangs or a network drops packets while the link is idle).
    frozen = descendants(host.process.pid)
    for pid in frozen:
        os.kill(pid, signal.SIGSTOP)
    try:
        with connect(fleet, "p04", **quick) as second:
            assert second.run(["echo", "fresh"]).stdout == "fresh\n"
    finally:
        for pid in frozen:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    assert logins(host) - before == 2
