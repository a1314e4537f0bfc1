"""Every variable a task sees, built in one place, in Ansible's precedence order.

Layers, lowest precedence first (a later layer overrides an earlier one):

==  ==========================  ==================================================
 #  layer                       where it comes from
==  ==========================  ==================================================
 0  role defaults               ``defaults/`` of the play's roles, then of the
                                task's own role (and the roles that called it)
 1  inventory                   group < host variables, playbook-adjacent
                                ``group_vars/``/``host_vars/`` over inventory-adjacent
                                ones (layered by :mod:`corral.inventory`)
 2  facts                       ``setup``: ``ansible_facts`` and ``ansible_<name>``
 3  play vars                   the play's ``vars``, then its ``vars_files``, then
                                the ``vars/`` of the play's roles
 4  task vars                   the task's role ``vars/`` and the role call's
                                ``vars:``, then block and task ``vars``
 5  include vars                an include's ``vars`` and loop item, a rescue's
                                ``ansible_failed_task`` / ``ansible_failed_result``
 6  set facts and registered    ``set_fact`` and ``register`` results on the host
 6b role params                 ``- {role: x, port: 80}`` (and its callers')
 7  params                      the playbook's ``params:``, as given with ``-p``
 8  extra vars                  ``-e`` on the command line
 9  magic                       ``groups``, ``hostvars``, ``play_hosts``, ``role_path``...
                                and ``inventory_hostname``, which nothing overrides
==  ==========================  ==================================================

Params and extra vars travel apart from the command line to here
(:class:`corral.engine.options.RunOptions` has both); :class:`RunVariables`
stacks them once per run, and an extra var that overrides a secret param is a
:class:`corral.Secret` too. Run-time data (facts, results) is wrapped in
:class:`Verbatim`: text from a host is never rendered as a template.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from corral.errors import PlaybookError
from corral.playbook.templating.environment import Verbatim
from corral.secrets import Secret, keep_secret

# The variables that name the user to log in as; a play's remote_user gives way to them.
USER_VARIABLES = ("ansible_user", "ansible_ssh_user")

# The ansible-core release whose playbook language corral follows (and its differential
# tests compare with), as ``ansible_version``: playbooks test it with ``is version(...)``.
ANSIBLE_VERSION = {
    "full": "2.19.0",
    "major": 2,
    "minor": 19,
    "revision": 0,
    "string": "2.19.0",
}

if TYPE_CHECKING:
    from corral.engine.context import RunContext
    from corral.engine.hosts import HostState
    from corral.playbook.model import Play, RoleScope, TaskNode
    from corral.playbook.templating.templar import Templar


@dataclass(frozen=True)
class RunVariables:
    """The layers every host shares for the whole run: params (7), then extra vars (8)."""

    params: Mapping[str, Any] = field(default_factory=dict)
    extra_vars: Mapping[str, Any] = field(default_factory=dict)
    top: Mapping[str, Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Stacked once here: every task on every host reads this mapping. An extra var
        # over a secret param stays a secret (``-e db_password=...``).
        secret = [name for name, value in self.params.items() if isinstance(value, Secret)]
        extra_vars = keep_secret(self.extra_vars, secret) if secret else self.extra_vars
        object.__setattr__(self, "top", {**self.params, **extra_vars})


def verbatim(values: Mapping[str, Any]) -> dict[str, Any]:
    """Run-time data (results, facts) is used as is: text from a host is never a template."""
    return {key: Verbatim(value) for key, value in values.items()}


def fact_vars(facts: Mapping[str, Any]) -> dict[str, Any]:
    """Facts as Ansible injects them: ``ansible_facts`` plus ``ansible_<name>``."""
    if not facts:
        return {}
    out = {f"ansible_{k}": v for k, v in facts.items()}
    out["ansible_facts"] = facts
    return out


def task_variables(
    state: HostState,
    run: RunVariables,
    *,
    play_vars: Mapping[str, Any],
    task_vars: Mapping[str, Any],
    include_vars: Mapping[str, Any],
    magic: Mapping[str, Any],
    task: TaskNode | None = None,
    role_defaults: Mapping[str, Any] | None = None,
    remote_user: Any = None,
) -> dict[str, Any]:
    """The variables one task sees on one host: layers 0 to 9 of the table, in order.

    ``remote_user`` is the play's keyword, given when the inventory does not name the
    host's user (:meth:`RunContext.own_user`): the task's ``ansible_user`` unless a
    variable above the inventory names the user, as Ansible's ``PlayContext`` gives it.
    It overrides ``-u`` and ansible.cfg's ``remote_user`` (the inventory layer's defaults).
    """
    role: RoleScope | None = getattr(task, "role", None)
    if role_defaults or role is not None:
        variables = dict(role_defaults or {})  # 0
        if role is not None:
            variables.update(role.defaults)
        variables.update(state.inventory_vars)  # 1
    else:
        variables = dict(state.inventory_vars)  # 1
    if state.facts:
        variables.update(verbatim(fact_vars(state.facts)))  # 2
    variables.update(play_vars)  # 3
    variables.update(task_vars)  # 4
    variables.update(include_vars)  # 5
    if state.host_vars:
        variables.update(verbatim(state.host_vars))  # 6
    if role is not None:
        variables.update(role.params)  # 6b
    variables.update(run.top)  # 7, 8
    variables.update(magic)  # 9
    if role is not None:
        variables.update(role_magic(role))
    variables["inventory_hostname"] = state.name
    # Ansible's connection magic: a task sees ansible_host even when no inventory sets it.
    variables.setdefault("ansible_host", state.name)
    if remote_user is not None and not _names_user(
        play_vars, task_vars, include_vars, state.host_vars, run.top, role.params if role else None
    ):
        variables["ansible_user"] = remote_user  # a template is rendered where it is used
    return variables


def _names_user(*layers: Mapping[str, Any] | None) -> bool:
    return any(layer and any(n in layer for n in USER_VARIABLES) for layer in layers)


def role_magic(role: RoleScope) -> dict[str, Any]:
    """Magic variables of a role's task (layer 9): the one place to set them.

    A role's task is told about its role, as Ansible tells it.
    """
    return {
        "role_name": role.short_name,
        "role_path": str(role.path),
        "ansible_role_name": role.name,
        "ansible_parent_role_names": [p.name for p in role.parents],
        "ansible_parent_role_paths": [str(p.path) for p in role.parents],
    }


def host_scope(state: HostState, run: RunVariables) -> dict[str, Any]:
    """A host's variables outside any play (``hostvars[host]``): layers 1, 2, 6, 7, 8."""
    variables = dict(state.inventory_vars)
    variables.update(verbatim(fact_vars(state.facts)))
    variables.update(verbatim(state.host_vars))
    variables.update(run.top)
    return variables


def play_scope(play_vars: Mapping[str, Any], run: RunVariables) -> dict[str, Any]:
    """What a play-level template sees before any host (``approval:``, ``vars_files`` names)."""
    return {**play_vars, **run.top}


def host_pattern(play: Play, run: RunVariables, templar: Templar) -> str:
    """The play's ``hosts``; a template (``'{{ db_hosts }}'``) is rendered with the play's
    vars, the params and the extra vars, as Ansible renders it before picking hosts."""
    if "{{" not in play.hosts and "{%" not in play.hosts:
        return play.hosts
    return str(templar.render(play.hosts, play_scope(play.vars, run)))


def play_serial(play: Play, run: RunVariables, templar: Templar) -> tuple[Any, ...]:
    """The play's ``serial`` sizes; a template (``'{{ batch_size }}'``, a param) is rendered
    in the same scope as ``hosts``, so a playbook can take its batch size as a param."""
    scope: dict[str, Any] | None = None
    sizes: list[Any] = []
    for value in play.serial:
        size = value
        if isinstance(value, str) and ("{{" in value or "{%" in value):
            scope = scope if scope is not None else play_scope(play.vars, run)
            size = templar.render(value, scope)
        sizes.extend(size if isinstance(size, list | tuple) else [size])
    return tuple(sizes)


class HostVars(Mapping[str, Mapping[str, Any]]):
    """The ``hostvars`` magic variable: each host's variables, rendered in its scope when read.

    Every inventory host is in it, as in Ansible, also one no play has reached yet
    (its state is made on first read).
    """

    def __init__(self, run: RunContext) -> None:
        self._run = run

    def _names(self) -> list[str]:
        names = list(self._run.inventory.hosts)
        known = set(names)
        return names + [name for name in self._run.states if name not in known]

    def __getitem__(self, host: str) -> Mapping[str, Any]:
        run = self._run
        if host not in run.states and not run.inventory.has_host(host):
            raise KeyError(host)
        return run.templar.variables_view(host_scope(run.state(host), run.variables))

    def __contains__(self, host: object) -> bool:
        return isinstance(host, str) and (
            host in self._run.states or self._run.inventory.has_host(host)
        )

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())


def magic_variables(
    run: RunContext,
    play: Play,
    hosts: Sequence[str],
    batch: Sequence[str],
    active: Sequence[str],
) -> dict[str, Any]:
    """Layer 9 for one ``serial`` batch of a play (``inventory_hostname`` is added per host).

    ``active`` are the play's hosts still running; the linear strategy updates
    ``ansible_play_hosts`` after each round as hosts drop out.
    """
    options = run.options
    magic = {
        "groups": Verbatim(run.inventory.groups_mapping()),
        "hostvars": Verbatim(HostVars(run)),
        "play_hosts": list(batch),
        "ansible_play_batch": list(batch),
        "ansible_play_hosts": list(active),
        "ansible_play_hosts_all": list(hosts),
        "ansible_play_name": play.name,
        "playbook_dir": playbook_dir(run),
        "ansible_check_mode": run.options.check,
        "ansible_diff_mode": run.options.diff,
        "ansible_run_id": run.options.run_id,
        "ansible_playbook_python": sys.executable,
        "ansible_version": dict(ANSIBLE_VERSION),  # a copy: nothing can change the original
        # Ansible's defaults when no tags are given: every task runs, none is skipped.
        "ansible_run_tags": sorted(options.tags) or ["all"],
        "ansible_skip_tags": sorted(options.skip_tags),
        "ansible_forks": options.forks,
        "ansible_verbosity": options.verbosity,
        "role_names": list(play.role_names),
        "ansible_play_role_names": list(play.role_names),
        "ansible_role_names": list(play.all_role_names),
        "ansible_dependent_role_names": [
            n for n in play.all_role_names if n not in play.role_names
        ],
    }
    if options.limit:
        magic["ansible_limit"] = options.limit  # as in Ansible, defined only with --limit
    return magic


def playbook_dir(run: RunContext) -> str:
    """``playbook_dir``: for a resumed run, where the interrupted run's playbook was."""
    base = run.playbook.base_dir.resolve()
    resume = run.options.resume
    origin = None if resume is None else resume.origin_of(base, base)
    return str(origin or base)


def play_variables(play: Play, run: RunVariables, templar: Templar) -> dict[str, Any]:
    """Layer 3: the play's ``vars`` and its ``vars_files``, in Ansible's order.

    Static var files were loaded with the playbook; a name with a template
    (``vars/{{ env }}.yml``) is rendered here, with the play's variables and the
    params and extra vars, and loaded (the first file of a list that exists).
    """
    variables: dict[str, Any] = dict(play.vars)
    for item in play.vars_files:
        if isinstance(item, Mapping):
            variables.update(item)
        else:
            scope = play_scope(variables, run)
            variables.update(_templated_vars_file(play, item, scope, templar))
    variables.update(play.role_vars)
    return variables


def _templated_vars_file(
    play: Play, item: Any, scope: Mapping[str, Any], templar: Templar
) -> dict[str, Any]:
    from corral.playbook.loader import display_path
    from corral.playbook.yaml.load import load_yaml_file

    base = Path(play.location.file).parent
    names = item if isinstance(item, list) else [item]
    for name in names:
        path = base / str(templar.render(name, scope, location=play.location))
        if path.is_file():
            data = load_yaml_file(path, display_name=display_path(path)) or {}
            if not isinstance(data, Mapping):
                raise PlaybookError(
                    f"vars file {display_path(path)} must hold a mapping", location=play.location
                )
            return dict(data)
    raise PlaybookError(f"none of the vars files {names!r} exists", location=play.location)
