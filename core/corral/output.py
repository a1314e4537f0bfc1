"""Output types: how a run's events are written (``corral run --output NAME``).

An output plugin registers an :class:`OutputType` through
``corral_register_outputs``; its ``factory`` builds one :class:`Writer` per run
from the :class:`OutputOptions` the command line asked for. The built-in
``console`` and ``json`` outputs come in the same way.

A writer is any callable taking one event. Two optional capabilities are
declared here rather than probed for, and the event bus checks them once, when
it is given its writers:

:class:`IdleWriter`
    ``idle()`` is called whenever the bus has nothing else queued: a writer that
    keeps lines back writes them there, in one system call.
:class:`FlushingWriter`
    ``flush()`` is called when the run waits until everything emitted so far is
    delivered (before an approval prompt, at the end of each task round): a writer
    that hands events on (the run store) makes them durable there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import IO, Any, Protocol, runtime_checkable

from corral.errors import UsageError, did_you_mean

__all__ = [
    "FlushingWriter",
    "IdleWriter",
    "OutputOptions",
    "OutputType",
    "Writer",
    "find_output",
]


class Writer(Protocol):
    """Receives every event of a run, in order, from one thread at a time."""

    def __call__(self, event: Mapping[str, Any], /) -> None: ...


@runtime_checkable
class IdleWriter(Writer, Protocol):
    """A writer that keeps output back until the event bus has nothing queued."""

    def idle(self) -> None:
        """Write what was kept back."""


@runtime_checkable
class FlushingWriter(Writer, Protocol):
    """A writer whose events must be made durable when the run waits for delivery."""

    def flush(self) -> None:
        """Return once every event received so far is stored."""


@dataclass(frozen=True)
class OutputOptions:
    """What the command line asks of an output.

    ``buffered``: the event bus calls ``idle()``, so lines may wait for it.
    ``stream``: where to write; None means ``sys.stdout``, looked up at each write.
    """

    verbosity: int = 0
    diff: bool = False
    buffered: bool = False
    stream: IO[str] | None = None


@dataclass(frozen=True)
class OutputType:
    """A kind of output: a name for ``--output`` and the factory of its writer.

    ``interactive`` marks an output written for a person at a terminal: only then
    may an approval be asked for on standard input.
    """

    name: str
    factory: Callable[[OutputOptions], Writer]
    description: str = ""
    interactive: bool = False
    plugin: str = field(default="", compare=False)


def find_output(outputs: Mapping[str, OutputType], name: str) -> OutputType:
    """The output registered as ``name``; a :class:`UsageError` listing the others if none is."""
    found = outputs.get(name)
    if found is not None:
        return found
    known = ", ".join(sorted(outputs))
    if not known:
        raise UsageError(
            f"unknown output {name!r}: no output plugin is loaded",
            hint="load one, e.g. CORRAL_PLUGINS=output with CORRAL_DISABLE_PLUGIN_AUTOLOAD=1",
        )
    hint = did_you_mean(name, outputs)
    raise UsageError(
        f"unknown output {name!r}; registered outputs: {known}",
        hint=hint or "see 'corral plugins' for what each plugin registers",
    )
