"""Debian hosts ready for playbooks/provision-base.yml, shared by its test and its benchmark.

The baseline installs real package names (curl, htop, ..., unattended-upgrades). The hosts
get them from a local apt repository of small stand-ins made here (tests/aptrepo.py) and
are cut off from Debian's archive (its source and lists removed), so the runs are offline
and deterministic. The stand-in ``unattended-upgrades`` ships what the role touches: the
``50unattended-upgrades`` conffile and a oneshot systemd unit.

Ansible's ``apt`` module needs ``python3-apt`` on the host (corral's does not): its real
.deb and dependencies are fetched once on this machine with ``apt-get download`` (Debian
12 here as in the hosts), cached, added to the repository and installed on every host,
as a Debian host managed by Ansible has it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml
from ansible_extra_collections import cache_dir, collections_path
from aptrepo import Package, build_repo
from conftest import need
from debian_hosts import DebianFleet, FleetFactory, ssh_control_dir

ROOT = Path(__file__).resolve().parent.parent
PLAYBOOK = ROOT / "playbooks" / "provision-base.yml"
BASE_PACKAGES = ("curl", "htop", "rsync", "tree", "vim-tiny")
PYTHON_APT = ("python3-apt", "python-apt-common", "distro-info-data")

UNIT = """\
[Unit]
Description=Unattended Upgrades Shutdown (corral test stand-in)

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/true

[Install]
WantedBy=multi-user.target
"""
DEFAULT_CONFIG = 'Unattended-Upgrade::Origins-Pattern {\n        "origin=Debian";\n};\n'
# What containers cannot do: their /proc/sys is read-only (the machine's kernel).
CONTAINER_VARS = {"base_sysctl_reload": False}


def packages() -> list[Package]:
    stand_ins = [
        Package(name, "1.0", files={f"/usr/share/corral-baseline/{name}": f"{name}\n"})
        for name in BASE_PACKAGES
    ]
    upgrades = Package(
        "unattended-upgrades",
        "1.0",
        files={
            "/usr/bin/unattended-upgrade": "#!/bin/sh\nexit 0\n",
            "/etc/apt/apt.conf.d/50unattended-upgrades": DEFAULT_CONFIG,
            "/lib/systemd/system/unattended-upgrades.service": UNIT,
        },
        conffiles=["/etc/apt/apt.conf.d/50unattended-upgrades"],
    )
    return [*stand_ins, upgrades]


def python_apt_debs() -> list[Path]:
    """The real .deb files of :data:`PYTHON_APT`, downloaded once into the test cache."""
    return archive_debs(PYTHON_APT, "python3-apt-debs")


def archive_debs(names: Sequence[str], cache_name: str) -> list[Path]:
    """The real .deb files of ``names`` (one each, no dependencies added), fetched once
    from Debian's archive with ``apt-get download`` into the test cache's ``cache_name``."""
    cache = cache_dir() / cache_name
    debs = sorted(cache.glob("*.deb"))
    if len(debs) == len(names):
        return debs
    partial = cache.with_name(f"{cache.name}.{os.getpid()}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    done = subprocess.run(
        ["apt-get", "download", "-q", *names],
        cwd=partial, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        shutil.rmtree(partial, ignore_errors=True)
        raise RuntimeError(f"apt-get download {' '.join(names)}: {done.stderr.strip()}")
    shutil.rmtree(cache, ignore_errors=True)
    partial.rename(cache)
    return sorted(cache.glob("*.deb"))


def build_baseline_repo(directory: Path, *, python_apt: bool = False) -> Path:
    """The local repository: the stand-ins, and python3-apt with its dependencies."""
    directory.mkdir(parents=True, exist_ok=True)
    for deb in python_apt_debs() if python_apt else ():
        shutil.copy(deb, directory / deb.name)
    return build_repo(directory, packages())


def offline(fleet: DebianFleet, *, python_apt: bool = False) -> None:
    """Leave the hosts only the local repository (no Debian archive source, no lists of
    it); with ``python_apt``, install python3-apt from it (for ansible-playbook). The
    package cache is left two days old, as on a server that has not been provisioned, so
    the first run's ``update_cache`` reads the repository."""
    script = "rm -f /etc/apt/sources.list /var/lib/apt/lists/*debian.org*"
    if python_apt:
        script += (
            " && apt-get update -q && apt-get install -y -q --no-install-recommends python3-apt"
        )
    script += (
        " && rm -f /var/lib/apt/periodic/update-success-stamp"
        " && touch -d '2 days ago' /var/lib/apt/lists"
    )

    def cut(host: str) -> None:
        fleet.check(host, ["sh", "-c", script])

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(cut, [h.name for h in fleet.hosts]))


def twin_hosts(factory: FleetFactory, repo: Path, build: Callable[[Path], object]) -> DebianFleet:
    """Two fresh hosts of one image (``twin1``, ``twin2``, systemd) for comparing
    ansible-playbook with corral: ``build`` makes the local repository in ``repo`` (a
    RuntimeError from it, Debian's archive out of reach, skips the test), then the hosts
    are cut off from the archive and get python3-apt (see :func:`offline`)."""
    try:
        build(repo)
    except RuntimeError as exc:
        need(False, str(exc))
    fleet = factory(2, systemd=True, repo=repo, prefix="twin")
    offline(fleet, python_apt=True)
    return fleet


def write_vars(directory: Path) -> Path:
    """The extra-vars file the container hosts need (``-e @file`` for both tools)."""
    path = directory / "container-vars.yml"
    path.write_text(yaml.safe_dump(CONTAINER_VARS))
    return path


def ansible_env(workdir: Path, *, forks: int = 20) -> dict[str, str]:
    """ansible-playbook's environment: collections, pipelining, forks, a private home."""
    workdir.mkdir(parents=True, exist_ok=True)
    return {
        **os.environ,
        "HOME": str(workdir),
        "ANSIBLE_COLLECTIONS_PATH": str(collections_path()),
        "ANSIBLE_LOCAL_TEMP": str(workdir / "tmp"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "ANSIBLE_PIPELINING": "1",
        "ANSIBLE_FORKS": str(forks),
        "ANSIBLE_SSH_CONTROL_PATH_DIR": ssh_control_dir(),
    }


def state(fleet: DebianFleet, host: str) -> dict[str, str]:
    """What the baseline manages on ``host``, read through docker (not through corral)."""

    def sh(script: str) -> str:
        return fleet.exec(host, ["sh", "-c", script]).stdout

    return {
        "sshd_config": sh("cat /etc/ssh/sshd_config"),
        "packages": sh(
            f"dpkg-query -W -f '${{Package}} ${{Status}}\\n' {' '.join(BASE_PACKAGES)}"
            " unattended-upgrades 2>&1 | sort"
        ),
        "users": sh("getent passwd alice bob; getent group admins"),
        "keys": sh(
            "cd /home && stat -c '%n %a %U' alice/.ssh alice/.ssh/authorized_keys"
            " bob/.ssh bob/.ssh/authorized_keys && cat */.ssh/authorized_keys"
        ),
        "sudoers": sh("stat -c '%a %U' /etc/sudoers.d/admins; cat /etc/sudoers.d/admins"),
        "sysctl": sh("cat /etc/sysctl.d/60-baseline.conf"),
        "cron": sh("cat /etc/cron.d/baseline"),
        "timezone": sh("cat /etc/timezone; readlink /etc/localtime"),
        "upgrades": sh(
            "cat /etc/apt/apt.conf.d/20auto-upgrades"
            " /etc/apt/apt.conf.d/50unattended-upgrades;"
            " systemctl is-enabled unattended-upgrades"
        ),
    }
