"""Shared fixtures. The ``corral_project`` fixture comes from corral.testing (pytest11)."""

from __future__ import annotations

import compileall
import os
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
ROOT = Path(__file__).resolve().parent.parent


def pytest_configure(config: pytest.Config) -> None:
    """Compile corral's own sources to bytecode once, before the tests start.

    The tests start ``corral`` (and ``corral serve``, workers...) as subprocesses a few
    thousand times. Under PYTHONDONTWRITEBYTECODE (set where CI runs) an editable install's sources
    never get a ``__pycache__``, so each of those processes compiled every module it
    imported: about 0.2 s of CPU each, twice the cost of the run itself. pip compiled
    the installed dependencies already. Done by the controller only, not by each xdist
    worker; a no-op when the bytecode is current.
    """
    if hasattr(config, "workerinput"):
        return
    for package in ("core", "plugins"):
        compileall.compile_dir(ROOT / package, quiet=1)
    # pytest-xdist hands out whole files (--dist loadfile) in the order of the collection
    # below, not in its own (most tests first).
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False


# The files that take longest, in seconds (both xdist workers busy on 2 CPUs). They start
# first, longest first, so that the two workers end together: a long file handed out
# last would run alone at the end. The other files follow in collection order.
SLOW_FILES = {
    "test_ansible_compat.py": 219,
    "realworld/test_realworld.py": 124,
    "test_public_roles_on_debian.py": 130,
    "playbooks/test_lb_playbooks.py": 64,
    "plugins/celery/test_celery_run_queue.py": 70,
    "plugins/inventory/test_inventory_differential.py": 63,
    "plugins/server/test_ui_browser.py": 54,
    "test_provision_base_ansible.py": 45,
    "playbooks/test_dr_failover.py": 44,
    "plugins/services/test_services_vs_ansible.py": 40,
    "playbooks/test_os_patch.py": 39,
    "plugins/packages/test_apt_hosts.py": 37,
    "test_provision_base.py": 44,
    "plugins/celery/test_celery_broker_restart.py": 35,
    "plugins/packages/test_apt_vs_ansible.py": 35,
    "test_new_project.py": 34,
    "plugins/celery/test_celery_rabbitmq.py": 30,
    "plugins/server/test_serve.py": 31,
    "plugins/system/test_system_debian.py": 30,
    "test_control.py": 27,
    "plugins/server/test_server_triggers.py": 27,
    "security/test_inputs_bounds.py": 27,
    "playbooks/test_backup_restore.py": 27,
    "plugins/server/test_ui_runs.py": 26,
    "plugins/ssh/test_ssh_connection.py": 22,
    "plugins/history/test_follow.py": 22,
    "plugins/docker/test_step_docker.py": 21,
    "test_yamlload.py": 21,
    "plugins/server/test_warm.py": 21,
    "plugins/packages/test_dnf_hosts.py": 30,
    "plugins/packages/test_apt_key_hosts.py": 20,
    "test_inventory_patterns.py": 19,
    "plugins/celery/test_celery_executor.py": 18,
    "test_migrating_doc.py": 16,
    "plugins/ssh/test_ssh_fleet.py": 16,
    "plugins/server/test_ui_pages.py": 15,
    "test_locks.py": 15,
    "test_wind_down.py": 14,
    "plugins/celery/test_celery_workers.py": 14,
    "test_orchestration.py": 13,
    "plugins/packages/test_archive_hosts.py": 13,
    "test_engine_async.py": 13,
}


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: one worker more than the machine has CPUs. Many tests spend their time
    waiting (on sshd, dockerd, PostgreSQL, a browser, subprocesses), so as many workers as
    CPUs leaves the CPUs idle part of the time."""
    return (os.cpu_count() or 1) + 1


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slow files first, longest first (a stable sort: a file's tests stay in order)."""
    tests = ROOT / "tests"

    def seconds(item: pytest.Item) -> int:
        path = item.path
        name = path.relative_to(tests).as_posix() if path.is_relative_to(tests) else ""
        return SLOW_FILES.get(name, 0)

    items.sort(key=seconds, reverse=True)


def need(condition: bool, reason: str) -> None:
    """Skip when a real service cannot run here; under CI=true, fail instead."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required service unavailable under CI=true: {reason}")
    pytest.skip(reason)


# Real Debian hosts (debian_fleet, module_debian_fleet, and the dockerd they run on), a
# real `corral serve` (served), and Debian's Chromium for the web UI (browser, page, ...).
pytest_plugins = ["debian_hosts", "served", "browser"]


@pytest.fixture(autouse=True)
def _no_vault_passwords_left_over() -> None:
    """Each test starts with no vault password set in this process.

    A command keeps the passwords it was given for the rest of its process (one command
    runs per process); in-process test runs would hand them on to the next test that
    reads vault data without a command, as a test running after them on the same worker.
    """
    import sys

    vault = sys.modules.get("corral.vault")
    if vault is not None:
        vault.use_vault(vault.VaultSecrets())
        vault.configure(vault.VaultConfig())
