"""Ansible's module names for corral's steps: the one table.

Every step named as one of ansible-core's modules (``copy``, ``wait_for``) also
answers to ``ansible.builtin.<name>`` and ``ansible.legacy.<name>``;
:func:`with_ansible_names` adds these when the registry is built, so a plugin
does not have to. :data:`ANSIBLE_NAMES` maps the Ansible modules whose corral step
has another name and takes the same arguments. :data:`COUNTERPARTS` lists known
modules (``community.docker.docker_container``) whose corral counterpart takes
other arguments: they are not run, but the unknown-step error names the step to use.
"""

from __future__ import annotations

from collections.abc import Mapping

from corral.steps import StepType

__all__ = [
    "ANSIBLE_BUILTIN_MODULES",
    "ANSIBLE_NAMES",
    "BUILTIN_PREFIXES",
    "COUNTERPARTS",
    "REMOVED",
    "counterpart_hint",
    "with_ansible_names",
]

BUILTIN_PREFIXES = ("ansible.builtin.", "ansible.legacy.")

# The modules of ansible-core (ansible.builtin): a step of one of these names answers
# to its fully qualified names too, whichever plugin registers it.
ANSIBLE_BUILTIN_MODULES = frozenset(
    (
        "add_host", "apt", "apt_key", "apt_repository", "assemble", "assert", "async_status",
        "blockinfile", "command", "copy", "cron", "deb822_repository", "debconf", "debug",
        "dnf", "dnf5", "dpkg_selections", "expect", "fail", "fetch", "file", "find",
        "gather_facts", "get_url", "getent", "git", "group", "group_by", "hostname",
        "import_playbook", "import_role", "import_tasks", "include_role", "include_tasks",
        "include_vars", "iptables", "known_hosts", "lineinfile", "meta", "mount_facts",
        "package", "package_facts", "pause", "ping", "pip", "raw", "reboot", "replace",
        "rpm_key", "script", "service", "service_facts", "set_fact", "set_stats", "setup",
        "shell", "slurp", "stat", "subversion", "systemd", "systemd_service", "sysvinit",
        "tempfile", "template", "unarchive", "uri", "user", "validate_argument_spec",
        "wait_for", "wait_for_connection", "yum_repository",
    )
)  # fmt: skip

# Ansible module -> corral step taking the same arguments (under another name).
ANSIBLE_NAMES: dict[str, str] = {
    "uri": "http",
}

# Keywords and modules ansible-core removed, which old playbooks still use: what replaced
# them (the hint of the error corral gives, as ansible-playbook refuses them too).
REMOVED: dict[str, str] = {
    "include": "'include' was removed in ansible-core 2.16: use include_tasks (read when "
    "it runs) or import_tasks (read when the playbook loads); for plays, import_playbook",
    "first_available_file": "'first_available_file' was removed in Ansible 2.0: loop with "
    "with_first_found (or lookup('first_found', ...)) instead",
}

# Ansible module (fully qualified) -> the corral step that does the same job with
# other arguments, and what to know when moving to it.
COUNTERPARTS: dict[str, tuple[str, str]] = {
    "community.docker.docker_container": ("docker.container", ""),
    "community.docker.docker_image": ("docker.image", ""),
    "community.docker.docker_image_build": ("docker.image", "with 'build: {path: ...}'"),
    "community.docker.docker_image_pull": ("docker.image", ""),
    "community.docker.docker_container_exec": ("docker.exec", ""),
    "community.docker.docker_host_info": ("docker.info", ""),
    "community.postgresql.postgresql_query": (
        "database.query",
        "or database.execute for statements that change data; 'url' names the database",
    ),
    "community.postgresql.postgresql_script": ("database.execute", ""),
    "community.postgresql.postgresql_db": (
        "database.backup",
        "state: dump; database.restore for state: restore",
    ),
    "community.mysql.mysql_query": ("database.query", "with the database's url"),
    "community.general.slack": ("notify.slack", "it posts to an incoming webhook_url"),
    "community.general.mail": ("notify.email", ""),
    "community.general.office_365_connector_card": ("notify.teams", ""),
}


def with_ansible_names(steps: Mapping[str, StepType]) -> dict[str, StepType]:
    """``steps`` (by name and alias) plus ``ansible.builtin.<name>`` for Ansible's modules."""
    out = dict(steps)
    for step in steps.values():
        if step.name not in ANSIBLE_BUILTIN_MODULES:
            continue
        for prefix in BUILTIN_PREFIXES:
            out.setdefault(prefix + step.name, step)
    for ansible, corral in ANSIBLE_NAMES.items():
        if corral in steps:
            for full in (ansible, *(prefix + ansible for prefix in BUILTIN_PREFIXES)):
                out.setdefault(full, steps[corral])
    return out


def counterpart_hint(name: str, steps: Mapping[str, object]) -> str | None:
    """The hint for a known Ansible module that corral runs as another step, if any.

    The short name (``docker_container``, as written under ``collections:``) counts too.
    """
    for full, (step, note) in COUNTERPARTS.items():
        short = full.rsplit(".", 1)[-1]
        names = {full, short}
        if full.startswith(BUILTIN_PREFIXES):
            names.update(prefix + short for prefix in BUILTIN_PREFIXES)
        if name not in names:
            continue
        if step not in steps:
            return None
        family = step.split(".", 1)[0]
        extra = f" ({note})" if note else ""
        return (
            f"corral does the job of Ansible's {full} with its step {step!r}, which "
            f"takes other arguments{extra}: see docs/steps/{family}.md"
        )
    return None
