"""``corral token create | list | revoke``: the bearer tokens of the server's HTTP API."""

from __future__ import annotations

import json
from typing import Any

import click

from corral.errors import UsageError
from corral_plugins.history.display import format_time
from corral_plugins.history.runs import open_store_for, table
from corral_plugins.server.tokens import SCOPES


@click.group("token")
def token_group() -> None:
    """Bearer tokens for the server's HTTP API (corral serve).

    Scopes are a ladder: read < run < approve < admin; each allows what the
    ones below it allow.
    """


@token_group.command("create")
@click.option(
    "--scope",
    type=click.Choice(SCOPES),
    help="What the token may do: read, run (start and cancel runs), approve, admin.",
)
@click.option("--name", default="", metavar="NAME", help="Who or what uses it, e.g. ci.")
@click.pass_obj
def create_command(obj: Any, scope: str | None, name: str) -> int:
    """Make a token and print it, once: corral keeps only its sha256.

    The token alone goes to stdout, so `TOKEN=$(corral token create --scope run)`
    keeps it; what was made is said on stderr.
    """
    from corral_plugins.server.tokens import create_token

    if scope is None:  # not click's required=True: its message spans five lines
        raise UsageError(
            "corral token create needs --scope",
            hint=f"choose one of {', '.join(SCOPES)} (each allows what the ones before it do)",
        )
    store = open_store_for(obj)
    try:
        token_id, text = create_token(store, scope, name)
    finally:
        store.close()
    click.echo(text)
    named = f", name {name!r}" if name else ""
    click.echo(
        f"created token {token_id} (scope {scope}{named}); it is shown only now: "
        "store it where its user reads it (corral keeps only its sha256)",
        err=True,
    )
    return 0


@token_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the tokens as JSON.")
@click.pass_obj
def list_command(obj: Any, as_json: bool) -> int:
    """List the tokens (never their secrets), revoked ones too."""
    from corral_plugins.server.tokens import list_tokens

    store = open_store_for(obj)
    try:
        tokens = list_tokens(store)
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(tokens, indent=2))
        return 0
    if not tokens:
        click.echo("no tokens (make one with 'corral token create --scope read')")
        return 0
    rows = [
        (
            t["id"],
            t["name"] or "-",
            t["scope"],
            format_time(t["created"]),
            format_time(t["last_used"]),
            f"revoked {format_time(t['revoked'])}" if t["revoked"] else "active",
        )
        for t in tokens
    ]
    click.echo(table(("ID", "NAME", "SCOPE", "CREATED", "LAST USED", "STATE"), rows))
    return 0


@token_group.command("revoke")
@click.argument("token")
@click.pass_obj
def revoke_command(obj: Any, token: str) -> int:
    """Revoke TOKEN (its id, or the whole token text): the API refuses it from now on."""
    from corral_plugins.server.tokens import revoke_token, token_id_of

    token_id = token_id_of(token)
    store = open_store_for(obj)
    try:
        outcome = revoke_token(store, token_id)
    finally:
        store.close()
    if outcome == "unknown":
        raise UsageError(f"no token {token_id!r}", hint="see 'corral token list' for the ids")
    click.echo(f"token {token_id} {outcome}")
    return 0
