"""Warm workers of ``corral serve``: runs in long-lived processes, SSH links kept between runs.

The first tests use the local inventory of the ``served`` fixture; the SSH ones serve a
project whose inventory is a module fleet of real sshd hosts on loopback (``tests/sshd.py``),
and count logins in each sshd's log (``LogLevel VERBOSE`` logs every accepted key).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from served import Served, wait_for
from sshd import SshdFleet, SshdHost, module_fleet

SLOW = """
- hosts: all
  gather_facts: false
  params:
    pause: {type: number, default: 0}
  tasks:
    - name: take a while
      command: sleep {{ pause }}
"""

PING = """
- hosts: fleet
  gather_facts: false
  tasks:
    - name: who am I
      command: id -un
    - name: as root
      command: id -un
      become: true
"""

ENDED = {"succeeded", "failed", "interrupted", "cancelled"}


def start(served: Served, api: httpx.Client, playbook: str, **params: Any) -> str:
    started = api.post("/api/v1/runs", json={"playbook": playbook, "params": params})
    assert started.status_code == 202, started.text
    return str(started.json()["run_id"])


def run_to_end(served: Served, api: httpx.Client, playbook: str, **params: Any) -> dict[str, Any]:
    return served.wait_status(api, start(served, api, playbook, **params), ENDED)


# -- warm workers ------------------------------------------------------------------------


def test_runs_share_a_warm_worker_and_cancel_from_another_process_still_works(
    served: Served,
) -> None:
    served.project.write("slow.yml", SLOW)
    served.start("--max-runs", "1")
    with served.client(served.token("run")) as api:
        first = run_to_end(served, api, "slow.yml")
        second = run_to_end(served, api, "slow.yml")
        assert (first["status"], second["status"]) == ("succeeded", "succeeded")
        worker = served.run_row(first["id"])["pid"]
        assert served.run_row(second["id"])["pid"] == worker  # one process ran both

        long = start(served, api, "slow.yml", pause=60)
        served.wait_status(api, long, {"running"})
        cancel = subprocess.run(
            [sys.executable, "-m", "corral", "cancel", long, "--grace", "1s"],
            env=served.env,
            check=False,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert cancel.returncode == 0, cancel.stderr
        assert served.wait_status(api, long, {"cancelled"}, timeout=60)
        after = run_to_end(served, api, "slow.yml")
        # A run whose tasks were killed leaves its process at once (threads may remain),
        # here taking its warm worker with it: the next run is in another, and runs.
        assert after["status"] == "succeeded"
        assert "take a while" in api.get(f"/api/v1/runs/{after['id']}/logs").text


def test_a_warm_worker_killed_mid_run_leaves_it_interrupted_and_the_queue_goes_on(
    served: Served,
) -> None:
    served.project.write("slow.yml", SLOW)
    served.start("--max-runs", "1")
    with served.client(served.token("run")) as api:
        doomed = start(served, api, "slow.yml", pause=60)
        served.wait_status(api, doomed, {"running"})
        waiting = start(served, api, "slow.yml")
        assert served.run_row(waiting)["status"] == "queued"
        worker = int(served.run_row(doomed)["pid"])
        os.kill(worker, signal.SIGKILL)
        assert served.wait_status(api, doomed, {"interrupted"})["exit_code"] is None
        assert served.wait_status(api, waiting, {"succeeded"})
        assert served.run_row(waiting)["pid"] != worker  # a new worker took over
        health = api.get("/healthz")
        assert health.status_code == 200


def test_a_sigterm_winds_down_the_run_in_a_warm_worker_and_its_handler_goes_with_it(
    served: Served,
) -> None:
    served.project.write("slow.yml", SLOW)
    served.start("--max-runs", "1")
    with served.client(served.token("run")) as api:
        stopped = start(served, api, "slow.yml", pause=2)
        served.wait_status(api, stopped, {"running"})
        worker = int(served.run_row(stopped)["pid"])
        wait_for(lambda: "take a while" in api.get(f"/api/v1/runs/{stopped}/logs").text)
        os.kill(worker, signal.SIGTERM)  # as Ctrl-C: the running task finishes, nothing more
        assert served.wait_status(api, stopped, ENDED)["status"] == "interrupted"
        after = run_to_end(served, api, "slow.yml")
        assert after["status"] == "succeeded"
        assert served.run_row(after["id"])["pid"] == worker  # the worker lived on
        # Between runs the run's handler is gone: SIGTERM ends an idle worker, as it
        # should, and the next run gets a new one.
        os.kill(worker, signal.SIGTERM)
        wait_for(lambda: not _alive(worker), 30, "the idle worker to end")
        last = run_to_end(served, api, "slow.yml")
        assert last["status"] == "succeeded"
        assert served.run_row(last["id"])["pid"] != worker


def _alive(pid: int) -> bool:
    from corral.store.db import pid_alive

    return pid_alive(pid)


def test_no_warm_runs_each_run_in_a_process_of_its_own(served: Served) -> None:
    served.project.write("slow.yml", SLOW)
    served.start("--no-warm", "--max-runs", "1")
    with served.client(served.token("run")) as api:
        first = run_to_end(served, api, "slow.yml")
        second = run_to_end(served, api, "slow.yml")
    assert (first["status"], second["status"]) == ("succeeded", "succeeded")
    assert served.run_row(first["id"])["pid"] != served.run_row(second["id"])["pid"]


def test_bad_warm_idle_is_a_usage_error(served: Served) -> None:
    result = served.project.run("serve", "--warm-idle", "0")
    assert result.exit_code == 5
    assert "--warm-idle" in result.stderr
    assert "Traceback" not in result.stderr


# -- warm SSH connections -------------------------------------------------------------------


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshdFleet]:
    with module_fleet(tmp_path_factory, 4, prefix="w") as fleet:
        yield fleet


def serve_host(served: Served, fleet: SshdFleet, host: SshdHost, *args: str) -> Served:
    """Serve PING against ``host`` alone, known_hosts from the fleet's root."""
    served.project.write("ping.yml", PING)
    served.project.write(
        "inventory.ini",
        fleet.inventory_ini([host], corral_known_hosts=str(fleet.root / "known_hosts")),
    )
    return served.start("--max-runs", "1", *args)


def logins(host: SshdHost) -> int:
    """Logins sshd accepted (each a TCP connection, key exchange and authentication)."""
    return host.log.read_text().count("Accepted publickey")


def closed(host: SshdHost) -> int:
    """Connections sshd saw end."""
    return len(
        re.findall(
            r"Connection closed by|Received disconnect from|Disconnected from", host.log.read_text()
        )
    )


def test_a_second_run_to_a_host_reuses_its_warm_connection(
    served: Served, fleet: SshdFleet
) -> None:
    host = fleet["w01"]
    before = logins(host)
    serve_host(served, fleet, host)
    with served.client(served.token("run")) as api:
        first = run_to_end(served, api, "ping.yml")
        second = run_to_end(served, api, "ping.yml")
        assert (first["status"], second["status"]) == ("succeeded", "succeeded")
        logs = api.get(f"/api/v1/runs/{second['id']}/logs").text
    assert "root" in logs  # become went through sudo on the reused connection
    assert logins(host) - before == 1  # one login served both runs


def test_an_idle_connection_past_warm_idle_is_closed_and_replaced(
    served: Served, fleet: SshdFleet
) -> None:
    host = fleet["w02"]
    before, ended = logins(host), closed(host)
    serve_host(served, fleet, host, "--warm-idle", "0.5")
    with served.client(served.token("run")) as api:
        assert run_to_end(served, api, "ping.yml")["status"] == "succeeded"
        wait_for(lambda: closed(host) > ended, 30, "the idle connection to be closed")
        assert run_to_end(served, api, "ping.yml")["status"] == "succeeded"
    assert logins(host) - before == 2


def test_a_host_whose_key_changed_between_runs_is_refused(served: Served, fleet: SshdFleet) -> None:
    host = fleet["w03"]
    serve_host(served, fleet, host)
    with served.client(served.token("run")) as api:
        assert run_to_end(served, api, "ping.yml")["status"] == "succeeded"
        fleet.restart(host, new_key=True)  # its sessions end; the new connection meets the key
        refused = run_to_end(served, api, "ping.yml")
        assert refused["status"] == "failed"
        logs = api.get(f"/api/v1/runs/{refused['id']}/logs").text
    assert "has CHANGED" in logs


COPY = """
- hosts: fleet
  gather_facts: false
  params:
    dest: {type: string}
    text: {type: string}
  tasks:
    - copy: {content: "{{ text }}\\n", dest: "{{ dest }}", force: false}
"""


def sftp_servers(host: SshdHost) -> int:
    """SFTP sessions sshd started (each forks an sftp-server)."""
    return host.log.read_text().count("Starting session: subsystem 'sftp'")


def test_a_warm_connection_keeps_its_sftp_channel_but_not_what_it_learned(
    served: Served, fleet: SshdFleet
) -> None:
    import shutil
    import tempfile

    host = fleet["w04"]
    shared = Path(tempfile.mkdtemp(prefix="corral-warm-"))  # outside root's private tmp
    shared.chmod(0o777)  # the fleet's login user writes here
    dest = shared / "motd.txt"
    try:
        _copy_twice(served, fleet, host, dest)
    finally:
        shutil.rmtree(shared)


def _copy_twice(served: Served, fleet: SshdFleet, host: SshdHost, dest: Path) -> None:
    served.project.write("copy.yml", COPY)
    serve_host(served, fleet, host)
    before = sftp_servers(host)
    with served.client(served.token("run")) as api:
        first = run_to_end(served, api, "copy.yml", dest=str(dest), text="first")
        second = run_to_end(served, api, "copy.yml", dest=str(dest), text="second")
        logs = api.get(f"/api/v1/runs/{first['id']}/logs").text
    assert (first["status"], second["status"]) == ("succeeded", "succeeded"), logs
    assert sftp_servers(host) - before == 1  # the second run used the first's channel
    # The first run found the file missing; the second must look again (force: false).
    assert dest.read_text() == "first"
