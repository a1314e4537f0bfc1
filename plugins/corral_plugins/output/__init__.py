"""The built-in outputs: ``console`` (Ansible-like, for people) and ``json`` (one event a line).

Both are registered through ``corral_register_outputs``, the hook a third-party
output uses too; ``corral run --output NAME`` picks one.
"""

from __future__ import annotations

from corral import OutputOptions, OutputType, RegisterOutput, hookimpl
from corral.output import Writer

__all__ = ["console_writer", "json_writer"]


def console_writer(options: OutputOptions) -> Writer:
    """The console writer for one run (rich is imported only for a terminal)."""
    from corral_plugins.output.console import ConsoleWriter

    return ConsoleWriter(
        verbosity=options.verbosity,
        show_diff=options.diff,
        buffered=options.buffered,
        stream=options.stream,
    )


def json_writer(options: OutputOptions) -> Writer:
    """The JSON lines writer for one run."""
    from corral_plugins.output.jsonlines import JsonLinesWriter

    return JsonLinesWriter(options.stream, buffered=options.buffered)


@hookimpl
def corral_register_outputs(register: RegisterOutput) -> None:
    """Register the ``console`` and ``json`` outputs."""
    register(
        OutputType(
            name="console",
            factory=console_writer,
            description="Ansible-like lines for people: PLAY, TASK, ok/changed/fatal, PLAY RECAP.",
            interactive=True,
        )
    )
    register(
        OutputType(
            name="json",
            factory=json_writer,
            description="One JSON object per event, one per line (docs/events.md).",
        )
    )
