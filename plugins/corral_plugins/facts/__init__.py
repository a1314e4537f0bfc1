"""The ``setup`` step: gather facts about the host in one round trip.

A POSIX ``sh`` script (:data:`SETUP_SCRIPT`, in :mod:`.script`) prints
``key=value`` lines; the pure function :func:`parse_setup_output` (in
:mod:`.parse`) turns them into Ansible-named facts (``hostname``,
``distribution``, ``default_ipv4``, ``date_time``...) on the controller, stored
under ``ansible_facts`` (the engine adds the ``ansible_`` variables). It reads
only local files and commands, so it works on hosts with no network.

``docs/steps/setup.md`` lists the facts; :data:`FACT_NAMES` is the same list
for the pre-run check of undefined variables.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from typing import Any

from corral import RegisterStep, StepContext, StepResult, StepType, hookimpl
from corral_plugins.facts.names import FACT_NAMES
from corral_plugins.facts.script import SETUP_SCRIPT

__all__ = ["FACT_NAMES", "SETUP_SCHEMA", "SETUP_SCRIPT", "setup"]

SETUP_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "gather_subset": {
            "anyOf": [
                {"type": "string"},
                {"type": "array", "items": {"type": "string", "pattern": "^!?[a-z_]+$"}},
            ],
            "default": ["all"],
            "description": "Which facts to gather: `all` (default), `min`, `hardware`, "
            "`network`, `virtual`, or `!name` to leave one out; a list or a comma-separated "
            "string. "
            "Other Ansible subset names are accepted and fall under `min`.",
        },
        "filter": {
            "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
            "description": "Keep only facts whose name matches one of these shell-style "
            "patterns (with or without the `ansible_` prefix).",
        },
        "parallel": {
            "type": "boolean",
            "description": "Accepted for Ansible's `gather_facts` module; corral gathers "
            "in one command either way.",
        },
        "gather_timeout": {
            "type": "number",
            "exclusiveMinimum": 0,
            "default": 10,
            "description": "Seconds fact gathering may take on the host.",
        },
    },
}


def setup(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Gather facts about the host."""
    subset = _as_list(args.get("gather_subset", ["all"]))
    sections = sorted(_sections(subset))
    timeout = args.get("gather_timeout", 10)
    argv = ["/bin/sh", "-c", SETUP_SCRIPT, "setup", *sections, *_interpreter(ctx)]
    result = ctx.conn.run(argv, timeout=timeout, become=ctx.become)
    if result.timed_out:
        return StepResult(failed=True, msg=f"fact gathering timed out after {timeout:g} seconds")
    if result.rc != 0:
        return StepResult(failed=True, msg=f"fact gathering failed: {result.stderr.strip()}")
    # Imported here: the parsers are only needed by a run that gathers facts.
    from corral_plugins.facts.parse import parse_setup_output

    facts = parse_setup_output(result.stdout)
    facts.update(gather_subset=subset, module_setup=True)
    if "filter" in args:
        patterns = _as_list(args["filter"])
        facts = {key: value for key, value in facts.items() if _matches(key, patterns)}
    # What ``register`` keeps is the module's result as Ansible returns it: prefixed names
    # (the host's ``ansible_facts`` variable has them without the prefix).
    registered = {(key if key in _UNPREFIXED else f"ansible_{key}"): v for key, v in facts.items()}
    return StepResult(facts=facts, data={"ansible_facts": registered})


_UNPREFIXED = frozenset({"gather_subset", "module_setup"})


def _interpreter(ctx: StepContext) -> list[str]:
    """``python=PATH`` for the host's ``ansible_python_interpreter``, as Ansible's facts use it.

    The discovery modes (``auto``, ``auto_silent``, ``auto_legacy``...) leave the script's
    own search.
    """
    value = ctx.var("ansible_python_interpreter")
    if not isinstance(value, str) or not value:
        return []
    return [] if value.startswith("auto") else [f"python={value}"]


def _as_list(value: str | list[str]) -> list[str]:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return list(value)


def _sections(subset: list[str]) -> set[str]:
    """The optional sections (``hardware``, ``network``, ``virtual``) the subset selects."""
    optional = {"hardware", "network", "virtual"}
    included = {item for item in subset if not item.startswith("!")}
    excluded = {item[1:] for item in subset if item.startswith("!")}
    chosen = set(optional) if "all" in included or not included else set()
    chosen |= included & optional
    if "all" in excluded:
        chosen &= included
    return chosen - excluded


def _matches(name: str, patterns: list[str]) -> bool:
    return any(
        fnmatch.fnmatchcase(name, pattern) or fnmatch.fnmatchcase(f"ansible_{name}", pattern)
        for pattern in patterns
    )


@hookimpl
def corral_register_steps(register: RegisterStep) -> None:
    """Register ``setup``."""
    register(
        StepType(
            name="setup",
            run=setup,
            schema=SETUP_SCHEMA,
            aliases=(
                "ansible.builtin.setup",
                "ansible.legacy.setup",
                "gather_facts",
                "ansible.builtin.gather_facts",
            ),
            check_mode=True,
            facts=FACT_NAMES,
            description="Gather facts about the host (OS, CPU, memory, network, Python, user).",
        )
    )
