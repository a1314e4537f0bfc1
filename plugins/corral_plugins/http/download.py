"""Downloads to the host (``dest``).

The body is streamed to a temporary file on the controller, compared with the
host's file by sha1, and written with ``conn.put`` only when it differs.
"""

from __future__ import annotations

import hashlib
import posixpath
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from corral import StepContext, StepResult
from corral_plugins.files.attributes import apply_attributes, parse_mode
from corral_plugins.http.response import Call, judge, response_data

if TYPE_CHECKING:
    import httpx


def download(
    ctx: StepContext,
    args: Mapping[str, Any],
    response: httpx.Response,
    call: Call,
) -> StepResult:
    """Stream the body to a local temporary file, then put it on the host if it differs."""
    import tempfile

    data = response_data(response, call)
    if response.status_code == 304:
        return judge(response, call, data, return_content=False)
    dest = str(args["dest"])
    current = ctx.conn.stat(dest, checksum=True, become=ctx.become, timeout=ctx.timeout)
    if dest.endswith("/") or (current is not None and current.is_dir):
        dest = posixpath.join(dest, file_name(response))
        current = ctx.conn.stat(dest, checksum=True, become=ctx.become, timeout=ctx.timeout)
    with tempfile.TemporaryDirectory(prefix="corral-http-") as tmp:
        local = Path(tmp) / "body"
        digest = hashlib.sha1()  # noqa: S324 - Ansible's checksum, compared with conn.stat's
        size = 0
        with local.open("wb") as out:
            for chunk in response.iter_bytes():
                if ctx.cancelled.is_set():
                    return StepResult(failed=True, msg="download cancelled", data=data)
                out.write(chunk)
                digest.update(chunk)
                size += len(chunk)
        checksum = digest.hexdigest()
        data.update(path=dest, checksum=checksum, size=size)
        mode = parse_mode(args.get("mode"))
        if current is not None and current.checksum == checksum:
            return _unchanged_download(ctx, dest, data, mode)
        if ctx.check_mode:
            return StepResult(changed=True, msg=f"would write {size} bytes to {dest}", data=data)
        ctx.conn.put(local, dest, mode=mode, become=ctx.become, timeout=ctx.timeout)
    return StepResult(changed=True, msg=f"OK ({size} bytes)", data=data)


def _unchanged_download(
    ctx: StepContext, dest: str, data: dict[str, Any], mode: int | None
) -> StepResult:
    """The host already has the content: fix the mode if it differs, and say so."""
    current = ctx.conn.stat(dest, become=ctx.become, timeout=ctx.timeout)
    fixed = apply_attributes(ctx, dest, current, mode=mode) if current is not None else []
    msg = "; ".join(fixed) or f"{dest} already has this content"
    return StepResult(changed=bool(fixed), msg=msg, data=data)


def file_name(response: httpx.Response) -> str:
    """The name for a download into a directory: Content-Disposition's, the URL's, or index.html."""
    from email.message import Message

    disposition = response.headers.get("content-disposition")
    if disposition:
        message = Message()
        message["content-disposition"] = disposition
        name = message.get_filename()
        if name:
            return posixpath.basename(name.replace("\\", "/")) or "index.html"
    return posixpath.basename(unquote(response.url.path)) or "index.html"
