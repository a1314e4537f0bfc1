"""Public Galaxy roles, unchanged, applied for real by ansible-playbook and by corral.

geerlingguy's ntp, memcached and redis roles (tests/realworld/content/galaxy-roles/, copied
byte for byte, see tests/realworld/SOURCES.md) install Debian packages, write their
configuration from templates, and start, restart or stop services through handlers. Each
role's own test playbook (``molecule/default/converge.yml``: an apt cache update, then
the role) is run with ``--become`` on two fresh twin hosts of one image, systemd as PID 1:
ansible-playbook on one, corral on the other. In ``--check`` mode on the fresh hosts,
then for real, both tools must report the same status for every task and handler in
order, the same recap and the same outcome; both second runs change nothing;
both hosts end with the same packages, files and service states; and each tool, in
``--check`` mode, finds nothing to do on the host the other one configured.

The packages are Debian's own: their .debs (and those of their dependencies the image
lacks, and python3-apt for Ansible's apt module) are fetched once on this machine with
``apt-get download`` into a local repository, the hosts' only apt source: hence the
``archive`` marker. The hosts share the machine's network, so each daemon listens on its
own host's address (``ansible_host``), set with ``-e`` through the role's variable for it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from aptrepo import write_index
from baseline_hosts import ansible_env, archive_debs, python_apt_debs, twin_hosts
from conftest import ROOT
from debian_hosts import DebianFleet, FleetFactory

from corral.testing import CorralProject

pytestmark = [pytest.mark.slow, pytest.mark.archive]

ROLES_PATH = ROOT / "tests" / "realworld" / "content" / "galaxy-roles"
CALLBACKS = ROOT / "tests" / "compat" / "callback_plugins"
BIN = Path(sys.executable).parent
ANSIBLE_HOST = "twin1"
CORRAL_HOST = "twin2"
# What the roles install from Debian, with the dependencies and recommends the test image
# lacks (perl-base: perl wants the same version, newer than the image's).
ROLE_PACKAGES = (
    "ntpsec", "python3-ntp", "netbase",
    "memcached", "libevent-2.1-7", "libsasl2-2", "libsasl2-modules-db", "libsasl2-modules",
    "perl", "perl-base", "perl-modules-5.36", "libperl5.36", "libgdbm6", "libgdbm-compat4",
    "redis-server", "redis-tools", "libjemalloc2", "liblzf1", "libatomic1",
)  # fmt: skip

# What an unprivileged container cannot give a service: a user namespace. Debian's
# redis-server unit asks for one (PrivateUsers=true) and would never start; the drop-in
# is part of the host, as a container platform's hosts have it, not of the role.
REDIS_DROP_IN = "/etc/systemd/system/redis-server.service.d/container.conf"


@dataclass(frozen=True)
class Role:
    """A role; a script printing the packages and files it manages; its service and
    whether the role leaves it running; its variable for the address the daemon uses."""

    name: str
    files: str
    service: str
    running: bool
    address_variable: str = ""

    @property
    def id(self) -> str:
        return self.name.removeprefix("geerlingguy.")

    @property
    def playbook(self) -> Path:
        return ROLES_PATH / self.name / "molecule" / "default" / "converge.yml"

    @property
    def service_state(self) -> str:
        return "enabled\nactive\n" if self.running else "disabled\ninactive\n"

    def extra_vars(self, fleet: DebianFleet, host: str) -> list[str]:
        if not self.address_variable:
            return []
        return ["-e", json.dumps({self.address_variable: fleet[host].address})]


ROLES = [
    # Its test playbook manages the configuration and keeps ntpd stopped (a container
    # may not set the machine's clock).
    Role(
        "geerlingguy.ntp",
        "dpkg-query -W -f '${Package} ${Status}\\n' ntpsec tzdata; cat /etc/ntpsec/ntp.conf;"
        " readlink /etc/localtime",
        "ntpsec",
        running=False,
    ),
    Role(
        "geerlingguy.memcached",
        "dpkg-query -W -f '${Package} ${Status}\\n' memcached; cat /etc/memcached.conf",
        "memcached",
        running=True,
        address_variable="memcached_listen_ip",
    ),
    Role(
        "geerlingguy.redis",
        "dpkg-query -W -f '${Package} ${Status}\\n' redis-server;"
        " stat -c '%n %a %U %G' /etc/redis /etc/redis/redis.conf; cat /etc/redis/redis.conf",
        "redis-server",
        running=True,
        address_variable="redis_bind_interface",
    ),
]


@pytest.fixture(scope="module")
def fleet(
    module_debian_fleet: FleetFactory, tmp_path_factory: pytest.TempPathFactory
) -> DebianFleet:
    repo = tmp_path_factory.mktemp("roles") / "repo"
    role_debs: list[Path] = []

    def build(repo: Path) -> None:
        role_debs.extend(archive_debs(ROLE_PACKAGES, "public-roles-debs"))
        add_debs(repo, python_apt_debs())

    fleet = twin_hosts(module_debian_fleet, repo, build)
    for host in fleet:
        fleet.write(host, REDIS_DROP_IN, "[Service]\nPrivateUsers=false\n")
    # Published after the hosts last updated their lists, as on a server whose archive has
    # moved on: the first apt cache update of a run finds a new index.
    add_debs(repo, role_debs)
    return fleet


def add_debs(repo: Path, debs: list[Path]) -> None:
    repo.mkdir(exist_ok=True)
    for deb in debs:
        shutil.copy(deb, repo / deb.name)
    write_index(repo)


@dataclass(frozen=True)
class Run:
    """What a tool reported: each task's ``name: status`` in order, the host's recap,
    whether the run failed, and (not compared) what it said about failures."""

    tasks: list[str]
    recap: dict[str, int]
    failed: bool
    messages: str = field(default="", compare=False)

    @property
    def changed(self) -> list[str]:
        return [t for t in self.tasks if t.endswith(": changed")]


def report(events: list[dict[str, Any]], host: str, failed: bool, messages: str) -> Run:
    tasks = []
    recap: dict[str, int] = {}
    for event in events:
        if event.get("event") == "task_result" and event["host"] == host:
            kind = "handler " if event.get("handler") else ""
            tasks.append(f"{kind}{event['task']}: {event['status']}")
        elif event.get("event") == "recap":
            recap = event["hosts"].get(host, {})
    return Run(tasks, recap, failed, messages)


def ansible(fleet: DebianFleet, role: Role, workdir: Path, host: str, *args: str) -> Run:
    events = workdir / "ansible-events.jsonl"
    env = ansible_env(workdir / "home") | {
        "ANSIBLE_ROLES_PATH": str(ROLES_PATH),
        "ANSIBLE_CALLBACK_PLUGINS": str(CALLBACKS),
        "ANSIBLE_CALLBACKS_ENABLED": "compat_events",
        "CORRAL_COMPAT_EVENTS": str(events),
    }
    done = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", str(fleet.inventory), "--limit", host, "--become",
         *role.extra_vars(fleet, host), str(role.playbook), *args],
        cwd=workdir, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    output = done.stdout[-4000:] + done.stderr
    assert done.returncode in (0, 2), output  # 2: a host failed; anything else: no run
    lines = events.read_text().splitlines()
    return report([json.loads(line) for line in lines], host, done.returncode != 0, output)


def corral(fleet: DebianFleet, role: Role, project: CorralProject, host: str, *args: str) -> Run:
    project.env |= {"CORRAL_STORE": "off", "ANSIBLE_ROLES_PATH": str(ROLES_PATH)}
    out = project.run(
        "run", str(role.playbook), "-i", str(fleet.inventory), "--limit", host, "--become",
        *role.extra_vars(fleet, host), "--output", "json", *args,
    )  # fmt: skip
    events = out.json_lines()
    assert out.exit_code in (0, 2), out.output
    messages = "\n".join(failures(events)) or out.output
    return report(events, host, out.exit_code != 0, messages)


def failures(events: list[dict[str, Any]]) -> list[str]:
    """The failed tasks and their messages (the whole output holds every fact)."""
    return [
        f"{e['task']}: {e['result'].get('msg')}"
        for e in events
        if e.get("event") == "task_result" and e["status"] == "failed"
    ]


def state(fleet: DebianFleet, role: Role, host: str) -> str:
    """What the role left on ``host``, read through docker, the host's address made neutral."""
    script = (
        f"{role.files}; systemctl is-enabled {role.service}; systemctl is-active {role.service}"
    )
    return fleet.exec(host, ["sh", "-c", script]).stdout.replace(fleet[host].address, "ADDRESS")


@pytest.mark.parametrize("role", ROLES, ids=[r.id for r in ROLES])
def test_ansible_and_corral_apply_the_role_alike(
    fleet: DebianFleet, role: Role, corral_project: CorralProject, tmp_path: Path
) -> None:
    # --check on the fresh hosts first: nothing is installed yet, so a role may fail on a
    # service that does not exist yet; both tools must say the same.
    dry_ansible, dry_corral = side_by_side(
        partial(ansible, fleet, role, tmp_path, ANSIBLE_HOST, "--check"),
        partial(corral, fleet, role, corral_project, CORRAL_HOST, "--check"),
    )
    assert dry_corral == dry_ansible, dry_corral.messages

    # The first runs one after the other: the packages' own start, before the role
    # configures them, would race for the same port on the two hosts.
    first_ansible = ansible(fleet, role, tmp_path, ANSIBLE_HOST)
    first_corral = corral(fleet, role, corral_project, CORRAL_HOST)
    assert not first_ansible.failed, first_ansible.messages
    assert first_corral == first_ansible, first_corral.messages
    assert first_ansible.changed

    second_ansible, second_corral = side_by_side(
        partial(ansible, fleet, role, tmp_path, ANSIBLE_HOST),
        partial(corral, fleet, role, corral_project, CORRAL_HOST),
    )
    assert second_ansible.changed == []
    assert second_corral == second_ansible, second_corral.messages

    left = state(fleet, role, CORRAL_HOST)
    assert left == state(fleet, role, ANSIBLE_HOST)
    assert left.endswith(role.service_state)
    # Each tool finds the other's host already configured.
    crossed_ansible, crossed_corral = side_by_side(
        partial(ansible, fleet, role, tmp_path, CORRAL_HOST, "--check"),
        partial(corral, fleet, role, corral_project, ANSIBLE_HOST, "--check"),
    )
    assert (crossed_ansible.changed, crossed_ansible.failed) == ([], False)
    assert (crossed_corral.changed, crossed_corral.failed) == ([], False)


def side_by_side(theirs: Callable[[], Run], mine: Callable[[], Run]) -> tuple[Run, Run]:
    """ansible-playbook in a thread while corral runs here (each on its own host)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        ansible_run = pool.submit(theirs)
        corral_run = mine()
        return ansible_run.result(), corral_run
