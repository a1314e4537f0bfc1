"""The ``dpkg_selections`` step: a Debian package's selection state, as Ansible's module.

``hold`` keeps apt from upgrading (or removing) a package; ``install``, ``deinstall`` and
``purge`` are what ``dpkg --set-selections`` records for the next ``apt-get dselect-upgrade``.
The current state is read with ``dpkg --get-selections NAME`` and written only when it
differs; check mode reads and says what would change.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from corral import StepContext, StepFailed, StepResult
from corral_plugins.packages.common import host_run, run_or_raise

__all__ = ["dpkg_selections"]


def dpkg_selections(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Set ``name``'s selection to ``selection``."""
    name, selection = args["name"], args["selection"]
    try:
        found = run_or_raise(ctx, ["dpkg", "--get-selections", name])
    except StepFailed as exc:
        return StepResult(failed=True, msg=exc.message)
    if "no packages found matching" in found.stderr:
        return StepResult(
            failed=True, msg=f"Failed to find package '{name}' to perform selection '{selection}'."
        )
    fields = found.stdout.split()
    current = fields[1] if len(fields) > 1 else "not present"
    changed = current != selection
    data = {"before": current, "after": selection}
    if changed and not ctx.check_mode:
        written = host_run(ctx, ["dpkg", "--set-selections"], stdin=f"{name} {selection}")
        if written.rc != 0 or written.timed_out:
            reason = written.stderr.strip() or f"rc={written.rc}"
            return StepResult(failed=True, msg=f"dpkg --set-selections failed: {reason}", data=data)
    return StepResult(changed=changed, data=data)
