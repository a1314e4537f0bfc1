"""``corral schedule --emit systemd``: a project's cron triggers as systemd timer units.

For hosts that should run schedules without ``corral serve``: each ``cron:`` trigger of
the project's playbooks becomes ``NAME.service`` (``corral run PLAYBOOK`` in the project
directory) and ``NAME.timer``, written to ``--out``. Other trigger kinds wait for an
event only the server can receive; they are listed as skipped.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from corral.commands.options import project_option

__all__ = ["schedule_command"]


@click.command("schedule")
@click.option(
    "--emit",
    type=click.Choice(["systemd"]),
    required=True,
    help="What to write: systemd service and timer units.",
)
@project_option
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("corral-timers"),
    show_default=True,
    help="The directory the unit files are written to (made if missing).",
)
@click.option(
    "-i",
    "--inventory",
    "inventories",
    multiple=True,
    help="Inventory passed to each 'corral run' (repeatable; default: the project's own).",
)
@click.pass_obj
def schedule_command(
    obj: Any, emit: str, project: Path, out: Path, inventories: tuple[str, ...]
) -> int:
    """Write the project's cron triggers as systemd timers (a schedule without a server).

    Exit 0, or 4 when a playbook does not load or a schedule has no timer form.
    """
    from corral.commands.triggers import load_project
    from corral_plugins.triggers.systemd import timer_units, unit_name

    project = project.resolve()
    command = [*_corral(), "run"]
    written: list[str] = []
    loaded, failed = load_project(project, obj)
    for name, playbook in loaded:
        triggers = [t for play in playbook.plays for t in play.triggers]
        for index, trigger in enumerate(triggers, start=1):
            if trigger.kind != "cron":
                click.echo(f"skipped: {name}: a {trigger.kind} trigger needs corral serve")
                continue
            argv = [*command, name, *(f"--inventory={i}" for i in inventories)]
            try:
                units = timer_units(
                    unit_name(name, index), trigger.args, project=project, playbook=name,
                    command=argv,
                )  # fmt: skip
            except ValueError as exc:
                click.echo(f"error: {trigger.location}: {exc}", err=True)
                failed = True
                continue
            out.mkdir(parents=True, exist_ok=True)
            for suffix, text in (("service", units.service), ("timer", units.timer)):
                (out / f"{units.name}.{suffix}").write_text(text)
            written.append(units.name)
            for warning in units.warnings:
                click.echo(f"warning: {name}: {warning}", err=True)
            click.echo(f"wrote {out / units.name}.service and .timer ({name})")
    if written:
        click.echo(
            f"install: cp {out}/*.service {out}/*.timer ~/.config/systemd/user/ && "
            "systemctl --user daemon-reload && systemctl --user enable --now "
            + " ".join(f"{n}.timer" for n in written)
        )
    elif not failed:
        click.echo(f"no cron triggers in the playbooks of {project}")
    return 4 if failed else 0


def _corral() -> list[str]:
    """How the units start corral: this installation's own executable."""
    executable = Path(sys.executable).with_name("corral")
    return [str(executable)] if executable.exists() else [sys.executable, "-m", "corral"]
