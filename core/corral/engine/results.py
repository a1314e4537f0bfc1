"""Outcomes of units, and the per-host recap counters."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from corral.steps import AddHost, StepResult

Status = Literal[
    "ok", "changed", "failed", "timeout", "skipped", "unreachable", "ignored", "interrupted"
]
RECAP_KEYS = ("ok", "changed", "unreachable", "failed", "skipped", "rescued", "ignored")
NO_LOG_MESSAGE = (
    "the output has been hidden due to the fact that 'no_log: true' was specified for this result"
)


ItemKind = Literal["step", "error", "unreachable", "skipped", "unsupported", "stored"]
SKIP_REASON = "Conditional result was False"
EMPTY_LOOP = "No items in the list"


# Not frozen, unlike UnitResult: a frozen dataclass sets each of these fields through
# object.__setattr__, 4 µs for every item run (4% of the engine benchmark). It is
# treated as a value all the same: the engine makes a new one with dataclasses.replace.
@dataclass(slots=True)
class ItemResult:
    """One task on one host for one loop item (or the task, without a loop): the typed result.

    ``step`` is what the step returned on its last attempt; ``kind`` says when
    the engine stands in for it: ``error`` (the step raised, ``step.msg`` says
    why), ``unreachable``, ``skipped`` (``when`` was false), ``unsupported``
    (check mode and the step cannot), ``stored`` (a resumed run replays it).
    The rest is the engine's verdict on it. :attr:`registered` is Ansible's
    dict, built here and nowhere else.
    """

    step: StepResult = field(default_factory=StepResult)
    kind: ItemKind = "step"
    hint: str | None = None  # with kind "error"
    exception: str | None = None  # a traceback, when the step crashed
    changed_when: bool | None = None  # what ``changed_when`` said, when the task has one
    failed_when: bool | None = None  # what ``failed_when`` said
    until_met: bool | None = None  # what ``until`` said on the last attempt; None: no ``until``
    attempts: int = 1
    counted: bool = False  # the task could retry: ``attempts`` is part of the result
    delegated_to: str | None = None  # the host the step ran on, when not the task's own
    loop_var: str | None = None  # with a loop: the item's variable name and value
    item: Any = None
    loop_extra: Mapping[str, Any] | None = None  # index_var, ansible_loop: shown with the item
    stored: Mapping[str, Any] | None = None  # kind "stored": the result the interrupted run kept
    _shape: dict[str, Any] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def registered(self) -> dict[str, Any]:
        """The result as ``register`` stores it and events show it (Ansible's shape).

        Built on first use and kept: the registered variable, the event and a
        loop's ``results`` are the same dict, as they were the same in Ansible.
        """
        shape = self._shape
        if shape is None:
            shape = self._shape = self._build()
        return shape

    def _build(self) -> dict[str, Any]:
        out = self._base()
        if self.changed_when is not None:
            out["changed"] = self.changed_when
        if self.failed_when is not None:
            out["failed_when_result"] = self.failed_when
            out["failed"] = self.failed_when
        if self.counted:
            out["attempts"] = self.attempts
        if self.until_met is False:
            out["failed"] = True
            out.setdefault("msg", f"condition not met after {self.attempts} attempts")
        if self.loop_var is not None:
            out[self.loop_var] = self.item
            out["ansible_loop_var"] = self.loop_var
            if self.loop_extra:
                out.update(self.loop_extra)
        return out

    def _base(self) -> dict[str, Any]:
        step = self.step
        if self.kind == "step":
            return step.as_dict()
        if self.kind == "error":
            out: dict[str, Any] = {"failed": True, "changed": False, "msg": step.msg}
            if self.hint:
                out["hint"] = self.hint
            if self.exception:
                out["exception"] = self.exception
            return out
        if self.kind == "unreachable":
            return {"unreachable": True, "changed": False, "msg": step.msg}
        if self.kind == "skipped":
            return {"changed": False, "skipped": True, "skip_reason": SKIP_REASON}
        if self.kind == "unsupported":
            return {"changed": False, "skipped": True, "msg": step.msg}
        return dict(self.stored or {})

    @property
    def succeeded(self) -> bool:
        """Whether the item neither failed nor was unreachable."""
        shape = self.registered
        return not (shape.get("failed") or shape.get("unreachable"))

    @property
    def facts(self) -> Mapping[str, Any]:
        """Facts the step found (``setup``)."""
        return (self.step.facts or {}) if self.kind in ("step", "stored") else {}

    @property
    def set_vars(self) -> Mapping[str, Any]:
        """Variables the step set on the host (``set_fact``)."""
        return (self.step.set_vars or {}) if self.kind in ("step", "stored") else {}


@dataclass(frozen=True)
class UnitResult:
    """What one task did on one host: its status, its result(s), what the engine acts on.

    ``items`` holds one :class:`ItemResult` without a loop, one per item with
    one (``looped``). ``error`` is a problem before any step ran (rendering
    ``when`` or ``loop``). ``registered`` is Ansible's dict for the unit,
    built once by :func:`unit_shape` where the unit ends.
    """

    status: Status
    registered: dict[str, Any]
    items: tuple[ItemResult, ...] = ()
    looped: bool = False
    resumed: bool = False  # replayed from the run store, not run
    started: float = 0.0  # time.time() when the unit started and ended
    ended: float = 0.0

    @property
    def fatal(self) -> bool:
        """Whether the host stops here (failed or unreachable, and not ignored)."""
        return self.status in ("failed", "timeout", "unreachable")

    @property
    def meta_action(self) -> str | None:
        """A play-level action the engine must carry out (``meta: end_host``, ``end_play``...)."""
        if self.looped or not self.items or self.items[0].kind != "step":
            return None
        return self.items[0].step.meta_action

    @property
    def facts(self) -> Mapping[str, Any]:
        """Facts the unit's items found, later items winning."""
        if len(self.items) == 1:
            return self.items[0].facts
        merged: dict[str, Any] = {}
        for item in self.items:
            merged.update(item.facts)
        return merged

    @property
    def add_hosts(self) -> tuple[AddHost, ...]:
        """Hosts and groups the unit's items add to the inventory (none when it failed)."""
        if self.fatal:
            return ()
        return tuple(change for item in self.items for change in item.step.add_hosts)

    @property
    def set_vars(self) -> Mapping[str, Any]:
        """Variables the unit's items set (shared with the batch by ``run_once``)."""
        if len(self.items) == 1:
            return self.items[0].set_vars
        merged: dict[str, Any] = {}
        for item in self.items:
            merged.update(item.set_vars)
        return merged


def unit_shape(items: Sequence[ItemResult], *, looped: bool, error: str | None) -> dict[str, Any]:
    """Ansible's dict for a whole unit: the item's own, or the loop's summary of its items."""
    if error is not None:
        return {"failed": True, "changed": False, "msg": error}
    if not looped:
        return items[0].registered
    if not items:
        return {"changed": False, "skipped": True, "skipped_reason": EMPTY_LOOP, "results": []}
    results = [item.registered for item in items]
    out: dict[str, Any] = {
        "changed": any(r.get("changed") for r in results),
        "results": results,
        "msg": "All items completed",
    }
    if any(r.get("failed") for r in results):
        out["failed"] = True
        out["msg"] = "One or more items failed"
    if any(r.get("unreachable") for r in results):
        out["unreachable"] = True
    if results and all(r.get("skipped") for r in results):
        out["skipped"] = True
        out["msg"] = "All items skipped"
    return out


def status_of(result: Mapping[str, Any], ignore_errors: bool) -> Status:
    """The status a registered-shape result stands for."""
    if result.get("unreachable"):
        return "unreachable"
    if result.get("failed"):
        if ignore_errors:
            return "ignored"
        return "timeout" if result.get("timed_out") else "failed"
    if result.get("skipped"):
        return "skipped"
    return "changed" if result.get("changed") else "ok"


@dataclass
class Recap:
    """Counters per host, as ``PLAY RECAP`` shows them."""

    hosts: dict[str, dict[str, int]] = field(default_factory=dict)

    def host(self, name: str) -> dict[str, int]:
        counts = self.hosts.get(name)
        if counts is None:
            counts = self.hosts[name] = dict.fromkeys(RECAP_KEYS, 0)
        return counts

    def count(self, host: str, status: Status, *, changed: bool = False) -> None:
        """Count one task result the way Ansible does.

        A changed result counts as ok too; an ignored failure counts as ok (and
        changed, when it changed something) and as ignored.
        """
        counts = self.host(host)
        if status in ("ok", "changed"):
            counts["ok"] += 1
            if status == "changed":
                counts["changed"] += 1
        elif status == "ignored":
            counts["ok"] += 1
            counts["ignored"] += 1
            counts["changed"] += 1 if changed else 0
        elif status in ("timeout", "interrupted"):
            counts["failed"] += 1
        else:
            counts[status] += 1

    def rescue(self, host: str) -> None:
        """A failure handled by ``rescue`` counts as rescued, not failed."""
        counts = self.host(host)
        counts["failed"] = max(0, counts["failed"] - 1)
        counts["rescued"] += 1

    def exit_code(self) -> int:
        """2 when a host failed, 3 when one was unreachable (none failed), else 0."""
        if any(c["failed"] for c in self.hosts.values()):
            return 2
        if any(c["unreachable"] for c in self.hosts.values()):
            return 3
        return 0
