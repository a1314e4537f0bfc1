"""The ``locale_gen`` step: ``community.general.locale_gen``, compiled locales on Debian.

A locale is enabled by uncommenting its line in ``/etc/locale.gen`` (added from
``/usr/share/i18n/SUPPORTED`` when the file lacks it) and running ``locale-gen``; it is
removed by commenting the line out and running ``locale-gen`` again. Whether it is there
is asked of ``locale -a``, so a locale compiled by other means counts too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from corral import StepContext, StepFailed, StepResult
from corral_plugins.system.hostio import read_text, run_ok, write_text

__all__ = ["locale_gen"]

LOCALE_GEN = "/etc/locale.gen"
SUPPORTED = "/usr/share/i18n/SUPPORTED"


def normalise(name: str) -> str:
    """``en_US.UTF-8`` as ``locale -a`` spells it: ``en_US.utf8``."""
    head, dot, charset = name.partition(".")
    if not dot:
        return name
    charset, at, modifier = charset.partition("@")
    return f"{head}.{charset.lower().replace('-', '')}{at}{modifier}"


def _pattern(name: str) -> re.Pattern[str]:
    return re.compile(rf"^#?\s*{re.escape(name)} (?P<charset>.+)$")


def locale_gen(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Compile (or remove) locales; ``changed`` when ``locale -a`` had to change."""
    names = args["name"] if isinstance(args["name"], list) else [args["name"]]
    present = args.get("state", "present") == "present"
    try:
        supported = read_text(ctx, SUPPORTED)
        if supported is None:
            return StepResult(failed=True, msg=f"{SUPPORTED} is missing: is `locales` installed?")
        unknown = [
            n for n in names if not any(_pattern(n).match(ln) for ln in supported.splitlines())
        ]
        if unknown:
            return StepResult(
                failed=True,
                msg=f"name: the locale you've entered is not available on your system: "
                f"{', '.join(unknown)}",
            )
        compiled = {normalise(line) for line in run_ok(ctx, ["locale", "-a"]).split()}
        todo = [n for n in names if (normalise(n) in compiled) != present]
        if todo and not ctx.check_mode:
            _edit(ctx, todo, present, supported)
            run_ok(ctx, ["locale-gen"] if present else ["locale-gen", "--purge"])
    except StepFailed as exc:
        return StepResult(failed=True, msg=exc.message)
    return StepResult(changed=bool(todo), data={"name": args["name"]})


def _edit(ctx: StepContext, names: list[str], enable: bool, supported: str) -> None:
    lines = (read_text(ctx, LOCALE_GEN) or "").splitlines()
    for name in names:
        pattern = _pattern(name)
        found = False
        for i, line in enumerate(lines):
            match = pattern.match(line)
            if match:
                found = True
                lines[i] = f"{'' if enable else '# '}{name} {match['charset']}"
        if not found and enable:
            entry = next(ln for ln in supported.splitlines() if pattern.match(ln))
            lines.append(entry.lstrip("# "))
    write_text(ctx, LOCALE_GEN, "\n".join(lines) + "\n")
