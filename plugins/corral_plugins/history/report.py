"""``corral report RUN``: one run as JSON, or as a self-contained HTML page."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click


@click.command("report")
@click.argument("run_ref", metavar="RUN")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["html", "json"]),
    default="html",
    show_default=True,
    help="html: one file with inline CSS and an SVG timeline; json: the same data.",
)
@click.option(
    "-o",
    "--output",
    "output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write the report to this file instead of standard output.",
)
@click.pass_obj
def report_command(obj: Any, run_ref: str, fmt: str, output: Path | None) -> int:
    """Report on RUN (an id, a unique prefix, or 'last'): timeline, recap, failures, slow tasks."""
    from corral_plugins.history.html import render_html, report_data
    from corral_plugins.history.runs import open_store_for

    store = open_store_for(obj)
    try:
        data = report_data(store, store.resolve_run(run_ref)["id"])
    finally:
        store.close()
    text = render_html(data) if fmt == "html" else json.dumps(data, indent=2, default=str) + "\n"
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)
    return 0
