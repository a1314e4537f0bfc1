"""``tempfile``: a new, uniquely named file or directory on the host.

The random name is chosen on the controller and created on the host with ``mkdir`` (fails
when it exists) or the shell's ``noclobber`` (``O_EXCL``), mode 0600/0700 like Python's
``mkstemp``/``mkdtemp`` — so no ``mktemp`` flags or Python are needed there. Like Ansible's
module it always reports ``changed`` and does not run in check mode.
"""

from __future__ import annotations

import posixpath
import secrets
import string
from collections.abc import Mapping
from typing import Any

from corral import StepContext, StepResult
from corral_plugins.fileops.hostfs import path_info

__all__ = ["tempfile"]

# "$1" the directory (empty: $TMPDIR or /tmp), "$2" the name, "$3" file|directory.
_CREATE = """d=$1; [ -n "$d" ] || d=${TMPDIR:-/tmp}
p="${d%/}/$2"
if [ "$3" = directory ]; then mkdir -m 700 -- "$p" || exit 1
else (umask 077; set -C; : > "$p") || exit 1; fi
printf '%s\\n' "$p"
"""
_ALPHABET = string.ascii_lowercase + string.digits + "_"
_ATTEMPTS = 5


def tempfile(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Create the file or directory; its path is the result's ``path``."""
    state = str(args.get("state", "file"))
    prefix, suffix = str(args.get("prefix", "ansible.")), str(args.get("suffix", ""))
    for key, value in (("prefix", prefix), ("suffix", suffix)):
        if value and value != posixpath.basename(value):
            return StepResult(
                failed=True, msg=f"{key} must be a valid file name component, got {value!r}"
            )
    error = ""
    for _ in range(_ATTEMPTS):  # a clash with an existing name is tried again
        name = prefix + "".join(secrets.choice(_ALPHABET) for _ in range(8)) + suffix
        result = ctx.conn.run(
            ["/bin/sh", "-c", _CREATE, "tempfile", str(args.get("path") or ""), name, state],
            timeout=ctx.timeout,
            become=ctx.become,
        )
        if result.rc == 0 and not result.timed_out:
            path = result.stdout.strip()
            return StepResult(changed=True, data={"path": path, **path_info(ctx, path)})
        error = result.stderr.strip() or ("timed out" if result.timed_out else f"rc={result.rc}")
    return StepResult(failed=True, msg=f"cannot create a temporary {state}: {error}")
