"""Everything a run checks before it touches a host: playbook, inventory, variables."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from corral.ansible_cfg import AnsibleSettings
from corral.engine.options import RunOptions
from corral.errors import PlaybookError
from corral.playbook.model import Play, Playbook
from corral.plugins import Registry
from corral.secrets import SECRET_VARIABLES, keep_secret

if TYPE_CHECKING:
    from corral.inventory import Inventory
    from corral.playbook.templating.templar import Templar


@dataclass
class PreparedRun:
    """A playbook and inventory that passed every check."""

    playbook: Playbook
    inventory: Inventory
    templar: Templar  # the run's one templar, with the plugins' filters
    warnings: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)  # resolved; secret ones are Secret values
    # ansible.cfg and ANSIBLE_* (roles_path, vault settings... for whoever needs them).
    settings: AnsibleSettings = field(default_factory=AnsibleSettings)
    # Names whose values are secrets by whatever route they come: the params declared
    # ``secret: true`` and the passwords of corral.secrets.SECRET_VARIABLES.
    secret_names: frozenset[str] = SECRET_VARIABLES

    def options_for(self, options: RunOptions) -> RunOptions:
        """``options`` with the resolved params beside (not merged into) the extra vars.

        An extra var (``-e``, ``-e @file``) that gives a secret param or a password a
        value is wrapped in :class:`corral.Secret`, as the param itself would be; one
        that gives a param its value holds that value converted to the param's type.
        """
        # An extra var that gives a param its value carries the converted value.
        extra_vars = {
            name: self.params.get(name, value) for name, value in options.extra_vars.items()
        }
        extra_vars = keep_secret(extra_vars, self.secret_names)
        return replace(options, params=self.params, extra_vars=extra_vars)

    def task_count(self, play: Play) -> int:
        from corral.playbook.templating.undefined import play_tasks

        return sum(1 for _ in play_tasks(play))


def prepare_run(
    playbook_path: Path,
    inventories: Sequence[str],
    registry: Registry,
    options: RunOptions,
    environ: Mapping[str, str],
    params: Mapping[str, Any] | None = None,
    settings: AnsibleSettings | None = None,
) -> PreparedRun:
    """Load and check; raises :class:`corral.errors.CorralError` (exit 4) on bad input.

    ``params`` are the ``-p`` values as given; they are converted and checked
    against the playbook's ``params:`` declarations. ``settings`` are what
    ``ansible.cfg`` and ``ANSIBLE_*`` say (:mod:`corral.ansible_cfg`); kept on the result.
    """
    from corral.inventory import load_inventory
    from corral.playbook.loader import display_path, load_playbook
    from corral.playbook.roles.search import set_collections_path, set_roles_path
    from corral.playbook.templating.content_plugins import content_plugins
    from corral.playbook.templating.templar import Templar
    from corral.playbook.templating.undefined import find_undefined, raise_for_undefined

    if not playbook_path.is_file():
        raise PlaybookError(
            f"playbook not found: {display_path(playbook_path)}",
            hint="give the path of a playbook YAML file",
        )
    settings = settings or AnsibleSettings()
    # ansible.cfg's roles_path; ANSIBLE_ROLES_PATH in the environment still comes first.
    set_roles_path(settings.roles_path)
    set_collections_path(settings.collections_path)
    playbook = load_playbook(
        playbook_path, registry.steps, registry.play_keywords, environ, registry.triggers
    )
    playbook = _apply_gathering(playbook, settings.gathering)
    from corral.engine.selection import (
        added_host_variables,
        adds_hosts,
        check_selection,
        plays_without_hosts,
    )
    from corral.playbook.params import collect_params, params_from_extra_vars, resolve_params

    specs = collect_params(playbook.plays)
    # A declared param is given with -p or -e; -e wins (docs/playbooks.md, "Params").
    given = {**(params or {}), **params_from_extra_vars(specs, options.extra_vars)}
    resolved = resolve_params(specs, given)
    inventory = load_inventory(
        list(inventories),
        plugin_sources=registry.inventory_sources,
        playbook_dir=playbook.base_dir,
        environ=environ,
        cwd=Path(os.getcwd()),
    )
    known: set[str] = set(options.extra_vars) | set(resolved) | set(options.host_defaults)
    if options.limit:
        known.add("ansible_limit")
    for host in inventory.hosts:
        known.update(inventory.host_vars(host))
    if any(adds_hosts(play) for play in playbook.plays):
        known.update(_vars_of_added_entities(inventory))
        add_host = registry.steps.get("add_host")
        own = frozenset(add_host.schema.get("properties", ())) if add_host else frozenset()
        for play in playbook.plays:
            known.update(added_host_variables(play, own))
    search_paths = [playbook.base_dir]
    resume = options.resume
    origin = None if resume is None else resume.origin_of(playbook.base_dir, playbook.base_dir)
    if origin is not None:
        search_paths.append(origin)  # lookups find what the interrupted run found
    content = content_plugins(
        playbook, environ, filter_dirs=settings.filter_plugins, test_dirs=settings.test_plugins
    )
    templar = Templar(
        functions=registry.template_functions,
        search_paths=search_paths,
        environ=environ,
        content=content,
    )
    from corral.playbook.templating.stepnames import StepNames

    # A play no host runs (Ansible skips it) fails on nothing undefined: a warning.
    idle = plays_without_hosts(playbook, inventory, options.limit)
    steps = StepNames.from_steps(registry.steps)
    later = raise_for_undefined(find_undefined(playbook, known, templar, steps, idle))
    check_selection(playbook, inventory, options)
    warnings = [*getattr(inventory, "warnings", []), *playbook.warnings, *later]
    return PreparedRun(
        playbook=playbook,
        inventory=inventory,
        templar=templar,
        warnings=warnings,
        params=resolved,
        settings=settings,
        secret_names=SECRET_VARIABLES | {name for name, spec in specs.items() if spec.secret},
    )


def _apply_gathering(playbook: Playbook, gathering: str | None) -> Playbook:
    """``gathering = explicit`` in ansible.cfg: plays that do not say so gather no facts.

    ``implicit`` (Ansible's default, and corral's) and ``smart`` gather them.
    """
    if gathering != "explicit":
        return playbook
    plays = tuple(
        play if play.gather_facts_given else replace(play, gather_facts=False)
        for play in playbook.plays
    )
    return replace(playbook, plays=plays)


def _vars_of_added_entities(inventory: Inventory) -> set[str]:
    """Variables in ``group_vars/``/``host_vars/`` files of groups and hosts the inventory
    lacks: ``add_host`` and ``group_by`` may make them, and their tasks then see these."""
    names: set[str] = set()
    dirs = [*inventory.vars_dirs, *([inventory.playbook_vars] if inventory.playbook_vars else [])]
    for vars_dir in dirs:
        for group in vars_dir.entities("group_vars"):
            if group not in inventory.groups:
                names.update(vars_dir.group_vars(group))
        for host in vars_dir.entities("host_vars"):
            if not inventory.has_host(host):
                names.update(vars_dir.host_vars(host))
    return names
