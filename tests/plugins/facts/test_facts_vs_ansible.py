"""corral's local facts against ``ansible -m setup`` on the same machine.

ansible-core is a dev dependency.

Facts that cannot change between the two runs must be equal; those that move with
time or load (date, uptime, free memory, disk use) must have the same shape.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from corral import StepContext
from corral_plugins.facts import setup
from corral_plugins.local import LocalConnection

ANSIBLE = Path(sys.executable).with_name("ansible")
PYTHON = shutil.which("python3", path="/usr/bin:/usr/local/bin") or "/usr/bin/python3"

SAME_VALUE = (
    "all_ipv4_addresses",
    "all_ipv6_addresses",
    "apparmor",
    "architecture",
    "default_ipv4",
    "default_ipv6",
    "distribution",
    "distribution_major_version",
    "distribution_release",
    "distribution_version",
    "dns",
    "domain",
    "effective_group_id",
    "effective_user_id",
    "fqdn",
    "hostname",
    "interfaces",
    "kernel",
    "kernel_version",
    "lsb",
    "machine",
    "machine_id",
    "memtotal_mb",
    "nodename",
    "os_family",
    "pkg_mgr",
    "processor",
    "processor_cores",
    "processor_count",
    "processor_nproc",
    "processor_threads_per_core",
    "processor_vcpus",
    "python_version",
    "real_group_id",
    "real_user_id",
    "selinux",
    "service_mgr",
    "swaptotal_mb",
    "system",
    "user_dir",
    "user_gecos",
    "user_gid",
    "user_id",
    "user_shell",
    "user_uid",
    "virtualization_role",
    "virtualization_type",
)
# Same type, and for a mapping the same keys (a list: the same keys in each item).
SAME_SHAPE = (
    "date_time",
    "env",
    "loadavg",
    "memfree_mb",
    "memory_mb",
    "mounts",
    "python",
    "swapfree_mb",
    "uptime_seconds",
)


@pytest.fixture(scope="module")
def both() -> tuple[dict[str, Any], dict[str, Any]]:
    if not ANSIBLE.exists():
        pytest.skip("ansible-core is not installed next to this Python")
    proc = subprocess.run(
        [
            str(ANSIBLE),
            "localhost",
            "-m",
            "setup",
            "-c",
            "local",
            "-e",
            f"ansible_python_interpreter={PYTHON}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # "localhost | SUCCESS => {...}": the result is the JSON after the arrow.
    ansible = json.loads(proc.stdout[proc.stdout.index("{") :])["ansible_facts"]
    result = setup(StepContext(host="localhost", vars={}, conn=LocalConnection()), {})
    assert result.facts is not None
    return {key.removeprefix("ansible_"): value for key, value in ansible.items()}, result.facts


@pytest.mark.parametrize("key", SAME_VALUE)
def test_same_value_as_ansible(both: tuple[dict[str, Any], dict[str, Any]], key: str) -> None:
    ansible, corral = both
    assert key in ansible, f"Ansible does not report {key} here"
    if key == "interfaces":
        assert sorted(corral[key]) == sorted(ansible[key])
    else:
        assert corral[key] == ansible[key]


@pytest.mark.parametrize("key", SAME_SHAPE)
def test_same_shape_as_ansible(both: tuple[dict[str, Any], dict[str, Any]], key: str) -> None:
    ansible, corral = both
    assert type(corral[key]) is type(ansible[key])
    if isinstance(ansible[key], dict):
        # The ansible CLI adds its terminal size to the environment of what it runs; the
        # test's own environment may have them too (pytest-xdist's workers set LINES).
        added = {"LINES", "COLUMNS"} if key == "env" else set()
        assert set(corral[key]) - added == set(ansible[key]) - added
    if isinstance(ansible[key], list) and ansible[key] and isinstance(ansible[key][0], dict):
        assert set(corral[key][0]) == set(ansible[key][0])


def test_interface_facts_as_ansible(both: tuple[dict[str, Any], dict[str, Any]]) -> None:
    ansible, corral = both
    for name in ansible["interfaces"]:
        assert corral[name] == ansible[name], name
