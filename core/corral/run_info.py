"""What a ``corral_event`` implementation may know about the run an event belongs to."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from corral.engine.options import RunOptions
    from corral.playbook.templating.templar import Templar

__all__ = ["RunInfo"]


@dataclass(frozen=True)
class RunInfo:
    """One run, as plugins see it: read-only, the same object for every event of the run.

    ``extensions`` holds, per plugin play keyword (see ``corral_register_play_keywords``),
    the values of the plays that set it, in play order. ``options`` are the run's
    options (``options.check`` for check mode, ``options.verbosity``, ...).
    """

    run_id: str
    playbook: Path
    options: RunOptions
    templar: Templar = field(repr=False)
    extensions: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)

    def render(
        self,
        value: Any,
        variables: Mapping[str, Any] | None = None,
        *,
        what: str = "a plugin's template",
    ) -> Any:
        """Render the templates in ``value`` (a string, or strings in dicts and lists).

        It is the run's templar: the filters, tests and lookups plugins registered, and
        files looked up next to the playbook. ``what`` names the value in error
        messages. Raises :class:`corral.TemplateError`.
        """
        return self.templar.render(value, variables or {}, what=what)

    @property
    def environ(self) -> Mapping[str, str]:
        """The environment the run was started with: what ``lookup('env', ...)`` reads,
        and where the run store is (``CORRAL_HOME``, ``CORRAL_STORE``)."""
        return self.templar.environ

    def values(self, keyword: str) -> tuple[Any, ...]:
        """The values of plugin play keyword ``keyword``, one per play that sets it."""
        return tuple(self.extensions.get(keyword, ()))
