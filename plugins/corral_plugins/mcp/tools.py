"""The MCP server: corral's tools and resources on the official SDK's ``MCPServer``.

Each tool is a thin typed function (its signature is the tool's JSON Schema; the
argument names are the CLI's) calling :mod:`corral_plugins.mcp.ops` through
:func:`Calls.call`, which decides who calls (:class:`~corral_plugins.mcp.ops.Caller`),
records the call in the store's ``audit`` table, and turns an error into one line with
its hint. Tools are sync: the SDK runs them in its thread pool.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Annotated, Any

import anyio.to_thread
from mcp.server.mcpserver import Context, MCPServer
from pydantic import Field

from corral_plugins.mcp import ops

if TYPE_CHECKING:
    from corral_plugins.mcp.backend import Backend

__all__ = ["Calls", "build_server", "client_name"]

Playbook = Annotated[
    str, Field(description="The playbook's path relative to the project, e.g. site.yml")
]
Params = Annotated[
    dict[str, Any] | None,
    Field(description="The playbook's params (describe_playbook gives their JSON Schema)"),
]
Inventory = Annotated[
    str | None,
    Field(description="An inventory file or directory in the project; default: the project's"),
]
Limit = Annotated[str | None, Field(description="Only hosts matching this pattern (as -l)")]
RunRef = Annotated[str, Field(description="A run id, a unique prefix of one, or 'last'")]

INSTRUCTIONS = (
    "corral runs Ansible-style playbooks of one project. list_playbooks, then "
    "describe_playbook for its params; check or plan before run; run returns a run id "
    "at once: poll run_status (or run_events with the cursor it returns) until ended."
)


def client_name(ctx: Context) -> str:
    """The name the MCP client gave in ``initialize`` ('' when it gave none)."""
    try:
        params = ctx.request_context.session.client_params
    except (AttributeError, ValueError):
        return ""
    info = getattr(params, "client_info", None)
    return str(getattr(info, "name", "") or "")


class Calls:
    """Runs one tool call: who calls, the call itself, its audit row, its error line."""

    def __init__(self, backend: Backend, caller_of: Callable[[Context], ops.Caller]) -> None:
        self.backend = backend
        self.caller_of = caller_of

    def call(
        self,
        ctx: Context,
        action: str,
        args: Mapping[str, Any],
        work: Callable[[ops.Caller], dict[str, Any]],
    ) -> dict[str, Any]:
        from mcp.server.mcpserver.exceptions import ToolError

        from corral.errors import CorralError
        from corral_plugins.mcp.audit import record, redact_args

        caller = self.caller_of(ctx)
        result: dict[str, Any] = {}
        try:
            result = work(caller)
            outcome = "ok"
        except ops.Refused as exc:
            outcome = f"refused: {exc}"
            raise ToolError(_line(exc, exc.hint)) from None
        except CorralError as exc:
            outcome = f"error: {exc}"
            raise ToolError(_line(exc, exc.hint)) from None
        except Exception as exc:  # a bug of ours: one line for the client, the rest logged
            import logging

            logging.getLogger("corral.mcp").exception("tool %s failed", action)
            outcome = f"error: {type(exc).__name__}: {exc}"
            raise ToolError(f"internal error: {type(exc).__name__}: {exc}") from None
        finally:
            playbook = args.get("playbook")
            served = self.backend.served(playbook) if isinstance(playbook, str) else None
            record(
                self.backend.store(),
                client=caller.client,
                action=action,
                args=redact_args({k: v for k, v in args.items() if v is not None}, served),
                outcome=outcome,
                run_id=result.get("run_id") or args.get("run"),
            )
        return result


def _line(exc: Exception, hint: str | None) -> str:
    text = " ".join(str(exc).split())
    return f"{text} (hint: {hint})" if hint else text


class _Server(MCPServer):
    """The SDK's server, with a call whose arguments fail their schema answered in one
    line (and recorded), and resource reads recorded as tool calls are."""

    calls: Calls

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
        from mcp.server.mcpserver.exceptions import ToolError
        from pydantic import ValidationError

        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            if not isinstance(exc.__cause__, ValidationError) or context is None:
                raise
            wrong = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}"
                for e in exc.__cause__.errors()
            )
            line = f"bad arguments for {name}: {wrong} (hint: see its input schema in tools/list)"
            await anyio.to_thread.run_sync(self._record, context, name, arguments, f"error: {line}")
            raise ToolError(line) from None

    async def read_resource(self, uri: Any, context: Any = None) -> Any:
        outcome = "ok"
        try:
            return await super().read_resource(uri, context)
        except Exception as exc:
            outcome = f"error: {exc}"
            raise
        finally:
            if context is not None:
                args = {"uri": str(uri)}
                await anyio.to_thread.run_sync(
                    self._record, context, "read_resource", args, outcome
                )

    def _record(self, ctx: Context, action: str, args: Mapping[str, Any], outcome: str) -> None:
        from corral_plugins.mcp.audit import record

        caller = self.calls.caller_of(ctx)
        shown = {k: v for k, v in args.items() if k != "params"}  # not checked: not shown
        record(
            self.calls.backend.store(),
            client=caller.client,
            action=action,
            args=shown,
            outcome=outcome,
            run_id=None,
        )


def build_server(calls: Calls) -> MCPServer:
    """The MCP server with every tool and resource, over ``calls``' backend."""
    from corral import __version__

    server = _Server("corral", version=__version__, instructions=INSTRUCTIONS, log_level="WARNING")
    server.calls = calls
    _add_read_tools(server, calls)
    _add_run_tools(server, calls)
    _add_resources(server, calls)
    return server


def _add_read_tools(server: MCPServer, calls: Calls) -> None:
    from mcp_types import ToolAnnotations

    backend = calls.backend
    read = ToolAnnotations(read_only_hint=True)

    @server.tool(annotations=read)
    def list_playbooks(ctx: Context) -> dict[str, Any]:
        """The project's playbooks: plays, params, triggers, whether run may start them;
        a playbook that does not load, with its error."""
        return calls.call(ctx, "list_playbooks", {}, lambda c: ops.list_playbooks(backend, c))

    @server.tool(annotations=read)
    def describe_playbook(playbook: Playbook, ctx: Context) -> dict[str, Any]:
        """One playbook: its plays (hosts, task counts), its params as a JSON Schema
        (what run checks), and its triggers."""
        args = {"playbook": playbook}
        return calls.call(
            ctx, "describe_playbook", args, lambda c: ops.describe_playbook(backend, c, playbook)
        )

    # check and plan take the same arguments: one definition, two tools.
    previews = {
        "check": (
            ops.check,
            "Validate the playbook with these params against the inventory, as `corral "
            "check`: touches no host. ok, or the error and a hint.",
        ),
        "plan": (
            ops.plan,
            "What a run would do, as `corral plan`: plays in order, hosts, serial batches, "
            "tasks, and time estimates from past runs. Touches no host.",
        ),
    }
    for name, (work, doc) in previews.items():
        server.tool(name=name, description=doc, annotations=read)(_preview(calls, name, work))

    @server.tool(annotations=read)
    def run_status(run: RunRef, ctx: Context) -> dict[str, Any]:
        """A run: status, recap per host, failures, slowest tasks, progress and ETA while
        it runs; `ended` once it is over."""
        return calls.call(ctx, "run_status", {"run": run}, lambda c: ops.run_status(backend, run))

    @server.tool(annotations=read)
    def run_events(
        run: RunRef,
        ctx: Context,
        cursor: Annotated[int, Field(description="The cursor the last call returned")] = -1,
        limit: Annotated[int, Field(ge=1, le=5000)] = 500,
    ) -> dict[str, Any]:
        """The run's events after `cursor` (-1: from its start); call again with the
        returned cursor until `ended`."""
        args = {"run": run, "cursor": cursor, "limit": limit}
        return calls.call(
            ctx, "run_events", args, lambda c: ops.run_events(backend, run, cursor, limit)
        )

    @server.tool(annotations=read)
    def run_logs(
        run: RunRef,
        ctx: Context,
        lines: Annotated[int, Field(ge=0, description="The last lines; 0: all")] = 200,
    ) -> dict[str, Any]:
        """The run's log: its events as JSON lines, then its worker's console output."""
        args = {"run": run, "lines": lines}
        return calls.call(ctx, "run_logs", args, lambda c: ops.run_logs(backend, run, lines))

    @server.tool(annotations=read)
    def list_approvals(ctx: Context) -> dict[str, Any]:
        """Approvals that runs wait for, oldest first, and whether this session may
        answer them."""
        return calls.call(ctx, "list_approvals", {}, lambda c: ops.list_approvals(backend, c))

    @server.tool(annotations=read)
    def inventory(
        ctx: Context,
        inventory: Inventory = None,
        host: Annotated[str | None, Field(description="One host: its variables")] = None,
        limit: Limit = None,
    ) -> dict[str, Any]:
        """The inventory's groups and hosts; with `host`, that host's variables
        (passwords, vaulted values and secrets redacted)."""
        args = {"inventory": inventory, "host": host, "limit": limit}
        return calls.call(
            ctx, "inventory", args, lambda c: ops.inventory(backend, inventory, host, limit)
        )

    @server.tool(annotations=read)
    def history(
        ctx: Context,
        playbook: Annotated[str | None, Field(description="A playbook name or glob")] = None,
        status: Annotated[
            str | None, Field(description="queued, running, succeeded, failed...")
        ] = None,
        host: Annotated[str | None, Field(description="Runs that touched this host")] = None,
        limit: Annotated[int, Field(ge=1, le=1000)] = 20,
    ) -> dict[str, Any]:
        """The latest runs, newest first (as `corral history`)."""
        args = {"playbook": playbook, "status": status, "host": host, "limit": limit}
        return calls.call(
            ctx, "history", args, lambda c: ops.history(backend, playbook, status, host, limit)
        )

    @server.tool(annotations=read)
    def stats(
        ctx: Context,
        playbook: Annotated[str | None, Field(description="A playbook name or glob")] = None,
        top: Annotated[int, Field(ge=1, le=100)] = 10,
    ) -> dict[str, Any]:
        """Per playbook: runs, success rate, mean/p50/p95 duration; the slowest tasks
        and the hosts failing most (as `corral stats`)."""
        args = {"playbook": playbook, "top": top}
        return calls.call(ctx, "stats", args, lambda c: ops.stats(backend, playbook, top))


def _preview(calls: Calls, action: str, work: Callable[..., dict[str, Any]]) -> Any:
    """The ``check`` or ``plan`` tool: ``work`` is :func:`ops.check` or :func:`ops.plan`."""

    def preview(
        playbook: Playbook,
        ctx: Context,
        params: Params = None,
        inventory: Inventory = None,
        limit: Limit = None,
    ) -> dict[str, Any]:
        args = {"playbook": playbook, "params": params, "inventory": inventory, "limit": limit}
        return calls.call(
            ctx,
            action,
            args,
            lambda c: work(calls.backend, playbook, inventory, params or {}, limit),
        )

    return preview


def _add_run_tools(server: MCPServer, calls: Calls) -> None:
    from mcp_types import ToolAnnotations

    backend = calls.backend
    acts = ToolAnnotations(read_only_hint=False, destructive_hint=True)

    @server.tool(annotations=acts)
    def run(
        playbook: Playbook,
        ctx: Context,
        params: Params = None,
        inventory: Inventory = None,
        limit: Limit = None,
        check_mode: Annotated[
            bool, Field(description="Dry run: report what would change, change nothing")
        ] = False,
    ) -> dict[str, Any]:
        """Start a run of the playbook and return its run id at once (it runs on after
        this call). Needs --allow-run (stdio) or a run-scope token (HTTP)."""
        args = {
            "playbook": playbook,
            "params": params,
            "inventory": inventory,
            "limit": limit,
            "check_mode": check_mode or None,
        }
        return calls.call(
            ctx,
            "run",
            args,
            lambda c: ops.run(backend, c, playbook, params or {}, inventory, limit, check_mode),
        )

    @server.tool(annotations=acts)
    def cancel(
        run: RunRef,
        ctx: Context,
        now: Annotated[bool, Field(description="Abort at once, with no cleanup")] = False,
        grace: Annotated[
            float | None, Field(ge=0, description="Seconds running tasks get before a kill")
        ] = None,
    ) -> dict[str, Any]:
        """Cancel a run: running tasks finish, `always` sections and handlers run, it
        ends cancelled (as `corral cancel`)."""
        args = {"run": run, "now": now or None, "grace": grace}
        return calls.call(ctx, "cancel", args, lambda c: ops.cancel(backend, c, run, now, grace))

    @server.tool(annotations=acts)
    def resume(run: RunRef, ctx: Context) -> dict[str, Any]:
        """Resume a failed, interrupted or cancelled run where it stopped (as
        `corral resume`)."""
        return calls.call(ctx, "resume", {"run": run}, lambda c: ops.resume(backend, c, run))

    @server.tool(annotations=acts)
    def answer_approval(
        approval_id: int,
        approve: Annotated[bool, Field(description="true: approve; false: reject")],
        ctx: Context,
        comment: str = "",
    ) -> dict[str, Any]:
        """Approve or reject an approval a run waits for. Needs --allow-approve (stdio)
        or an approve-scope token (HTTP)."""
        args = {"approval_id": approval_id, "approve": approve, "comment": comment}
        return calls.call(
            ctx,
            "answer_approval",
            args,
            lambda c: ops.answer_approval(backend, c, approval_id, approve, comment),
        )


def _add_resources(server: MCPServer, calls: Calls) -> None:
    import json

    backend = calls.backend

    @server.resource("corral://runs/{run_id}", mime_type="application/json")
    def run_record(run_id: str) -> str:
        """A run: its record, recap, failures and slowest tasks (as run_status)."""
        with _resource_errors():
            return json.dumps(ops.run_status(backend, run_id), default=str, indent=2)

    @server.resource("corral://runs/{run_id}/report", mime_type="text/html")
    def run_report(run_id: str) -> str:
        """The run's HTML report (as `corral report`): timeline, recap, failures."""
        from corral_plugins.history.html import render_html, report_data

        with _resource_errors():
            store = backend.store()
            return render_html(report_data(store, store.resolve_run(run_id)["id"]))


@contextlib.contextmanager
def _resource_errors() -> Iterator[None]:
    """A corral error reading a resource (no such run): its one line, for the client."""
    from mcp.server.mcpserver.exceptions import ResourceError

    from corral.errors import CorralError

    try:
        yield
    except CorralError as exc:
        raise ResourceError(_line(exc, exc.hint)) from None
