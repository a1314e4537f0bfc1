"""What holds for host keys keeps holding: a host whose key changed is refused by default.

The connection-level cases (unknown keys, accept-new, every policy refusing a changed key)
are in ``tests/plugins/ssh/test_ssh_connection.py``; this checks it end to end, as a user
running a playbook meets it: the host is unreachable (exit 3), the message says the key
changed and how to clear it, and no task ran on the impostor.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sshd import SshdFleet, keygen, module_fleet

from corral.testing import CorralProject


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshdFleet]:
    with module_fleet(tmp_path_factory, 1) as fleet:
        yield fleet


def test_a_changed_host_key_is_refused_by_default(
    fleet: SshdFleet, corral_project: CorralProject, tmp_path: Path
) -> None:
    host = fleet["h01"]
    kind, blob = keygen(tmp_path / "impostor").split()[:2]
    known = tmp_path / "known_hosts"
    known.write_text(f"[{host.address}]:{host.port} {kind} {blob}\n")
    marker = fleet.scratch("hostkey") / "ran"
    corral_project.write("hosts.ini", fleet.inventory_ini([host], corral_known_hosts=str(known)))
    corral_project.write(
        "site.yml",
        f"- hosts: fleet\n  gather_facts: false\n  tasks:\n    - command: touch {marker}\n",
    )
    result = corral_project.run("run", "site.yml", "-i", "hosts.ini")
    assert result.exit_code == 3, result.output
    assert "has CHANGED" in result.output
    assert "Traceback" not in result.output
    assert not marker.exists()
    assert known.read_text() == f"[{host.address}]:{host.port} {kind} {blob}\n"  # not replaced
