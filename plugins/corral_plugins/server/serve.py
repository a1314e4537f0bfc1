"""``corral serve``: the project's triggers armed, its runs queued and run, an HTTP API."""

from __future__ import annotations

import ipaddress
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from corral.commands.options import project_option, wait_lock_seconds

if TYPE_CHECKING:
    from corral_plugins.server.daemon import ServerOptions

__all__ = ["parse_bind", "serve_command"]

DEFAULT_BIND = "127.0.0.1:8844"


@click.command("serve")
@project_option
@click.option(
    "--bind",
    default=DEFAULT_BIND,
    show_default=True,
    metavar="HOST:PORT",
    help="Where the API listens.",
)
@click.option(
    "--max-runs",
    type=click.IntRange(1, 256),
    default=4,
    show_default=True,
    help="Runs at once; more wait in the queue.",
)
@click.option(
    "--drain",
    type=click.FloatRange(0),
    default=60.0,
    show_default=True,
    help="Seconds running runs get to finish on SIGTERM before they are stopped.",
)
@click.option(
    "--tls-cert",
    type=click.Path(dir_okay=False, exists=True),
    help="Serve HTTPS with this certificate (PEM).",
)
@click.option(
    "--tls-key",
    type=click.Path(dir_okay=False, exists=True),
    help="The certificate's private key (PEM).",
)
@click.option(
    "--insecure",
    is_flag=True,
    help="Allow plain HTTP on an address other than loopback (tokens travel in clear).",
)
@click.option(
    "--wait-lock",
    metavar="DURATION",
    default="1h",
    show_default=True,
    callback=wait_lock_seconds,
    help="How long a run waits for a host or lock another run holds before it fails (exit 4).",
)
@click.option(
    "--hold-queue",
    is_flag=True,
    help="Maintenance: record and queue every fire, start no run (restart without it to go on).",
)
@click.option(
    "--reload-every",
    type=click.FloatRange(0),
    default=2.0,
    show_default=True,
    help="Seconds between looks for changed playbooks (0: never reload).",
)
@click.option(
    "--warm/--no-warm",
    default=True,
    show_default=True,
    help="Run runs in long-lived workers that keep SSH connections between runs.",
)
@click.option(
    "--warm-idle",
    type=click.FloatRange(min=0, min_open=True),
    default=300.0,
    show_default=True,
    metavar="SECONDS",
    help="How long a warm worker keeps an unused SSH connection open.",
)
@click.option(
    "--mcp-playbooks",
    metavar="GLOB",
    default="*",
    show_default=True,
    help="Which playbooks the MCP tools at /mcp may run, cancel and resume (with a run token).",
)
@click.option(
    "--executor",
    metavar="NAME",
    help="Where served runs run: local (the default: processes of this machine) or an "
    "executor plugin's; celery puts each run on the broker for a corral worker to run "
    "(docs/scale-out.md). Default: CORRAL_EXECUTOR, else local.",
)
@click.option(
    "--login-link/--no-login-link",
    default=None,
    help="Print a one-time link that logs a browser in to the web UI "
    "[default: when the output is a terminal].",
)
@click.pass_obj
def serve_command(
    obj: Any,
    project: Path,
    bind: str,
    max_runs: int,
    drain: float,
    tls_cert: str | None,
    tls_key: str | None,
    insecure: bool,
    wait_lock: float,
    hold_queue: bool,
    reload_every: float,
    warm: bool,
    warm_idle: float,
    mcp_playbooks: str,
    executor: str | None,
    login_link: bool | None,
) -> int:
    """Serve the project: arm its playbooks' triggers, run what they fire, answer the API.

    Every fire is recorded in the run store before its run starts. Each run
    runs in a worker process (`corral run`; with --warm, the default, a
    long-lived one that keeps SSH connections for the next run to the same
    host). The API (/api/v1, OpenAPI at /docs) needs a token from `corral
    token create`. SIGTERM (or Ctrl-C) drains: triggers stop, queued runs wait
    for the next start, running ones get --drain seconds.
    """
    from corral.errors import UsageError
    from corral.executors import chosen_executor
    from corral_plugins.server.daemon import ServerOptions

    host, port = parse_bind(bind)
    environ = obj.environ
    executor = chosen_executor(obj.registry.executors, executor, environ)
    # Every run the server starts here (each a `corral run` of its own) reads it.
    environ = {**environ, "CORRAL_EXECUTOR": executor}
    if bool(tls_cert) != bool(tls_key):
        raise UsageError("--tls-cert and --tls-key go together", hint="give both, or neither")
    if not _loopback(host) and not tls_cert and not insecure:
        raise UsageError(
            f"refusing to serve plain HTTP on {host}: tokens would travel in clear",
            hint="give --tls-cert and --tls-key, bind 127.0.0.1, or pass --insecure",
        )
    options = ServerOptions(
        max_runs=max_runs,
        drain=drain,
        reload=reload_every,
        wait_lock=wait_lock,
        hold=hold_queue,
        warm=warm,
        warm_idle=warm_idle,
        mcp_playbooks=mcp_playbooks,
        executor=executor,
    )
    if login_link is None:
        login_link = sys.stderr.isatty()
    _serve(
        obj, project, host, port, options, tls_cert, tls_key, login_link=login_link, environ=environ
    )
    return 0


def parse_bind(bind: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:8844`` for IPv6) as (host, port); UsageError when malformed."""
    from corral.errors import UsageError

    host, sep, port = bind.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(f"--bind {bind!r} is not HOST:PORT", hint=f"e.g. --bind {DEFAULT_BIND}")
    return host, int(port)


def _uvicorn_server() -> type:
    import uvicorn

    class Drained(uvicorn.Server):
        """uvicorn's server, exiting 0 after a drain instead of re-raising the signal."""

        def handle_exit(self, sig: int, frame: Any) -> None:
            super().handle_exit(sig, frame)
            self._captured_signals.clear()  # uvicorn would raise it again once stopped

    return Drained


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _serve(
    obj: Any,
    project: Path,
    host: str,
    port: int,
    options: ServerOptions,
    tls_cert: str | None,
    tls_key: str | None,
    *,
    login_link: bool = False,
    environ: Mapping[str, str],
) -> None:
    import contextlib
    from collections.abc import AsyncIterator

    import uvicorn
    from fastapi import FastAPI

    from corral_plugins.server.app import make_app
    from corral_plugins.server.daemon import Server

    def log(text: str) -> None:
        click.echo(f"corral serve: {text}", err=True)

    server = Server(project, obj.registry, environ, options, log=log)
    app = make_app(server)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        from starlette.concurrency import run_in_threadpool

        server.start()
        scheme = "https" if tls_cert else "http"
        served = len(server.project.served)
        log(f"serving {served} playbook(s) of {server.root} on {scheme}://{host}:{port}")
        log(f"inventory: {server.inventory_shown()}")
        if server.remote:
            log(f"runs go on the broker for corral workers to run (--executor {options.executor})")
        if options.hold:
            log("--hold-queue: fires are queued; no run starts until a restart without it")
        if login_link:
            from corral_plugins.server.ui.link import LoginLinks

            app.state.login_links = LoginLinks()
            code = app.state.login_links.issue()
            shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104 - a display
            shown = f"[{shown}]" if ":" in shown else shown
            log(f"log in: {scheme}://{shown}:{port}/login/link?code={code} (once, 15 minutes)")
        async with app.state.mcp_sessions:
            yield
        log("draining: no new runs; waiting for running ones")
        await run_in_threadpool(server.shutdown)
        log("stopped")

    app.router.lifespan_context = lifespan
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        ssl_certfile=tls_cert,
        ssl_keyfile=tls_key,
        timeout_graceful_shutdown=5,  # open event streams end; runs drain after
        lifespan="on",
    )
    _uvicorn_server()(config).run()
