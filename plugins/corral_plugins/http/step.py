"""The ``http`` step itself: check ``creates``/``removes``, build the request, send it.

Imported when the step first runs (the package's ``__init__`` registers it lazily).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from corral import StepContext, StepResult, __version__
from corral.secrets import reveal
from corral_plugins.http.download import download
from corral_plugins.http.request import (
    SAFE_METHODS,
    auth_headers,
    describe_error,
    expected_statuses,
    follows_redirects,
    mask_url,
    query_params,
    request_body,
    step_tls,
)
from corral_plugins.http.response import Call, judge, response_data
from corral_plugins.http.schema import DEFAULT_TIMEOUT

if TYPE_CHECKING:
    import ssl

__all__ = ["http"]


def http(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Send one HTTP request from the controller; with ``dest``, save the body on the host."""
    method = str(args.get("method", "GET")).upper()
    shown = mask_url(str(reveal(args["url"])))
    skipped = _guard(ctx, args)
    if skipped is not None:
        return StepResult(msg=skipped, stdout=skipped, data={"url": shown})
    if ctx.check_mode and method not in SAFE_METHODS:
        return StepResult(
            skipped=True,
            msg=f"check mode: {method} {shown} not sent (only GET and HEAD are)",
            data={"url": shown},
        )
    timeout = float(args.get("timeout") or ctx.timeout or DEFAULT_TIMEOUT)
    call = Call(method, shown, expected_statuses(args.get("status_code", 200)), timeout)
    try:
        tls = step_tls(ctx, args)
        headers, content = request_body(args)
    except (OSError, ValueError, TypeError) as exc:  # ssl.SSLError is an OSError
        return StepResult(failed=True, msg=str(exc), data={"url": shown, "status": -1})
    headers.update(auth_headers(args))
    return _send(ctx, args, call, tls=tls, headers=headers, content=content)


def _send(
    ctx: StepContext,
    args: Mapping[str, Any],
    call: Call,
    *,
    tls: ssl.SSLContext,
    headers: dict[str, str],
    content: bytes | None,
) -> StepResult:
    import httpx

    with httpx.Client(
        headers={"User-Agent": f"corral/{__version__}"},
        verify=tls,
        timeout=call.timeout,
        follow_redirects=follows_redirects(args.get("follow_redirects", "safe"), call.method),
        trust_env=bool(args.get("use_proxy", True)),
    ) as client:
        try:
            request = client.build_request(
                call.method,
                str(reveal(args["url"])),
                params=query_params(args.get("params")),
                headers=headers,
                content=content,
            )
            response = client.send(request, stream=True)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            return call.failed(describe_error(exc, call.timeout))
        try:
            if "dest" in args and response.status_code in call.expected:
                return download(ctx, args, response, call)
            response.read()
        except httpx.HTTPError as exc:
            return call.failed(describe_error(exc, call.timeout))
        finally:
            response.close()
    data = response_data(response, call)
    return judge(response, call, data, return_content=bool(args.get("return_content")))


def _guard(ctx: StepContext, args: Mapping[str, Any]) -> str | None:
    """Ansible's ``creates``/``removes``: why not to send the request, or None to send it."""
    creates, removes = args.get("creates"), args.get("removes")
    if creates and ctx.conn.stat(creates, become=ctx.become, timeout=ctx.timeout) is not None:
        return f"skipped, since '{creates}' exists"
    if removes and ctx.conn.stat(removes, become=ctx.become, timeout=ctx.timeout) is None:
        return f"skipped, since '{removes}' does not exist"
    return None
