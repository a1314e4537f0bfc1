"""Everything a run checks before it touches a host: playbook, inventory, variables."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
    # Names whose values are secrets by whatever route they come: the params declared
    # ``secret: true`` and the passwords of corral.secrets.SECRET_VARIABLES.
    secret_names: frozenset[str] = SECRET_VARIABLES

    def options_for(self, options: RunOptions) -> RunOptions:
        """``options`` with the resolved params beside (not merged into) the extra vars.

        An extra var (``-e``, ``-e @file``) that gives a secret param or a password a
        value is wrapped in :class:`corral.Secret`, as the param itself would be.
        """
        extra_vars = keep_secret(options.extra_vars, self.secret_names)
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
) -> PreparedRun:
    """Load and check; raises :class:`corral.errors.CorralError` (exit 4) on bad input.

    ``params`` are the ``-p`` values as given; they are converted and checked
    against the playbook's ``params:`` declarations.
    """
    from corral.inventory import load_inventory
    from corral.playbook.loader import display_path, load_playbook
    from corral.playbook.templating.templar import Templar
    from corral.playbook.templating.undefined import find_undefined, raise_for_undefined

    if not playbook_path.is_file():
        raise PlaybookError(
            f"playbook not found: {display_path(playbook_path)}",
            hint="give the path of a playbook YAML file",
        )
    playbook = load_playbook(playbook_path, registry.steps, registry.play_keywords, environ)
    from corral.playbook.params import collect_params, resolve_params

    specs = collect_params(playbook.plays)
    resolved = resolve_params(specs, params or {})
    inventory = load_inventory(
        list(inventories),
        plugin_sources=registry.inventory_sources,
        playbook_dir=playbook.base_dir,
        environ=environ,
        cwd=Path(os.getcwd()),
    )
    known: set[str] = set(options.extra_vars) | set(resolved)
    for host in inventory.hosts:
        known.update(inventory.host_vars(host))
    templar = Templar(
        functions=registry.template_functions, search_paths=[playbook.base_dir], environ=environ
    )
    problems = find_undefined(playbook, known, templar)
    raise_for_undefined(problems)
    return PreparedRun(
        playbook=playbook,
        inventory=inventory,
        templar=templar,
        warnings=list(getattr(inventory, "warnings", [])),
        params=resolved,
        secret_names=SECRET_VARIABLES | {name for name, spec in specs.items() if spec.secret},
    )
