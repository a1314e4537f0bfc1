"""The ``package`` step: install or remove packages with whatever manager the host has.

As Ansible's ``package`` action: the backend comes from ``use``, else from the
host's ``ansible_pkg_mgr`` fact, gathered (the minimal subset) when the play did
not gather facts. The task's other arguments go to that backend's step unchanged,
converted and checked against its schema.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import jsonschema

from corral import StepContext, StepResult
from corral.playbook.convert import ConversionError, convert_value, converter_for
from corral.playbook.templating.environment import unwrap
from corral_plugins.packages.apk import apk
from corral_plugins.packages.apt import apt
from corral_plugins.packages.apt_schema import APT_SCHEMA
from corral_plugins.packages.rpm import dnf, yum
from corral_plugins.packages.schemas import APK_SCHEMA, DNF_SCHEMA

__all__ = ["BACKENDS", "package", "package_manager"]

Backend = tuple[str, Callable[[StepContext, Mapping[str, Any]], StepResult], Mapping[str, Any]]

BACKENDS: Mapping[str, Backend] = {
    "apt": ("apt", apt, APT_SCHEMA),
    "dnf": ("dnf", dnf, DNF_SCHEMA),
    "dnf5": ("dnf", dnf, DNF_SCHEMA),
    "yum": ("yum", yum, DNF_SCHEMA),
    "apk": ("apk", apk, APK_SCHEMA),
}


def package_manager(ctx: StepContext) -> str:
    """The host's ``pkg_mgr`` fact: from its variables, else gathered now."""
    # Gathered facts are kept wrapped (Verbatim) in the host's variables, so that no
    # template in them is ever rendered: read the value, not the wrapper.
    facts = ctx.var("ansible_facts")
    known = ctx.var("ansible_pkg_mgr") or (
        unwrap(facts.get("pkg_mgr")) if isinstance(facts, Mapping) else None
    )
    if known:
        return str(known)
    from corral_plugins.facts import setup

    gathered = setup(ctx, {"gather_subset": ["!all"]})
    if gathered.failed:
        return "unknown"
    return str((gathered.facts or {}).get("pkg_mgr") or "unknown")


def package(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Hand the task to the host's package manager step."""
    use = str(args.get("use") or "auto")
    manager = package_manager(ctx) if use == "auto" else use
    backend = BACKENDS.get(manager)
    if backend is None:
        return StepResult(
            failed=True,
            msg=f"package: no corral step for the package manager {manager!r} "
            f"(supported: {', '.join(sorted(BACKENDS))})",
        )
    name, run, schema = backend
    forwarded = {key: value for key, value in args.items() if key != "use"}
    try:
        forwarded = convert_value(converter_for(schema), forwarded)
        jsonschema.validate(forwarded, schema)
    except ConversionError as exc:
        return StepResult(failed=True, msg=f"package ({name}): {exc}")
    except jsonschema.ValidationError as exc:
        where = ".".join(str(part) for part in exc.absolute_path) or "arguments"
        return StepResult(failed=True, msg=f"package ({name}): {where}: {exc.message}")
    return run(ctx, forwarded)
