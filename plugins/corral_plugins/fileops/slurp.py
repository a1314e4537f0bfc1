"""``slurp``: a file on the host, base64-encoded in the result.

The file is copied with the connection's ``get`` (SFTP over ssh, the archive API over
docker), so the host needs no ``base64`` or Python.
"""

from __future__ import annotations

import base64
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from corral import StepContext, StepResult
from corral.errors import CorralError

__all__ = ["slurp"]


def slurp(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Read ``src`` on the host; its bytes come back as ``content`` (base64)."""
    source = str(args.get("src") or args["path"])
    current = ctx.conn.stat(source, become=ctx.become, timeout=ctx.timeout)
    if current is None:
        return StepResult(failed=True, msg=f"File not found: {source}")
    if current.is_dir:
        return StepResult(failed=True, msg=f"Source is a directory and must be a file: {source}")
    with tempfile.TemporaryDirectory(prefix="corral-slurp-") as tmp:
        local = Path(tmp) / "content"
        try:
            ctx.conn.get(source, local, become=ctx.become, timeout=ctx.timeout)
        except (OSError, CorralError) as exc:
            return StepResult(failed=True, msg=f"File is not readable: {source} ({exc})")
        content = base64.b64encode(local.read_bytes()).decode("ascii")
    return StepResult(data={"content": content, "source": source, "encoding": "base64"})
