"""The ``known_hosts`` step: one host key in an SSH ``known_hosts`` file, as Ansible does it.

The file is searched with the host's own ``ssh-keygen -F NAME -f FILE`` (which sees
hashed entries too); a key of the same type for the host is replaced in place of its line
(the new line goes to the end), an absent host is added, and ``state: absent`` without a
key removes every key of the host with ``ssh-keygen -R`` (which leaves ``FILE.old``).
``hash_host`` writes the name hashed (``|1|salt|hash``); an already hashed entry with the
same key counts as the same, so the step stays idempotent although each hash is salted.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import posixpath
import re
from collections.abc import Mapping
from typing import Any

from corral import StepContext, StepFailed, StepResult
from corral_plugins.users.accounts import run

__all__ = ["known_hosts"]

# $1 file, $2 host: the file (or nothing), then ssh-keygen -F's answer and exit code.
_SEARCH = r"""if [ -f "$1" ]; then cat -- "$1"; fi; echo @@corral@@
if [ -e "$1" ]; then ssh-keygen -F "$2" -f "$1" 2>&1; echo "@@corral@@$?"; fi
"""
# $1 host, the key on stdin: what ssh-keygen -F finds of the host in that key alone.
_SANITY = r"""t=$(mktemp) && cat > "$t" && ssh-keygen -F "$1" -f "$t"; rc=$?; rm -f "$t"; exit $rc
"""


def known_hosts(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    try:
        return _known_hosts(ctx, args)
    except StepFailed as exc:
        return StepResult(failed=True, msg=exc.message)


def _hash(host: str, key: str) -> str:
    salt = os.urandom(20)
    digest = hmac.new(salt, host.encode(), hashlib.sha1).digest()
    parts = key.strip().split()
    index = 1 if parts[0].startswith("@") else 0
    parts[index] = f"|1|{base64.b64encode(salt).decode()}|{base64.b64encode(digest).decode()}"
    return " ".join(parts)


def _normal(line: str) -> dict[str, str]:
    words = line.strip().split()
    if words[0].startswith("@"):
        return dict(zip(("options", "host", "type", "key"), words, strict=False))
    return dict(zip(("host", "type", "key"), words, strict=False))


def _expand(ctx: StepContext, path: str) -> str:
    """``~/x`` or ``~user/x`` with the home the become user's shell gives it."""
    head, _, tail = path.partition("/")
    if not re.fullmatch(r"~[A-Za-z0-9_.-]*", head):
        return path
    result = run(ctx, ["sh", "-c", f"echo {head}"])
    home = result.stdout.strip()
    return f"{home}/{tail}" if result.rc == 0 and home.startswith("/") else path


def _search(host: str, key: str | None, found_output: str) -> tuple[bool, bool, int | None]:
    """(found, replace_or_add, found_line) from ``ssh-keygen -F``'s output, as Ansible."""
    if not found_output.strip():
        return False, False, None
    if not key:
        return True, False, None
    new = _normal(key)
    line_no: int | None = None
    for line in found_output.split("\n"):
        if not line:
            continue
        if line.startswith("#"):
            match = re.search(r"found: line (\d+)", line)
            line_no = int(match.group(1)) if match else line_no
            continue
        old = _normal(line)
        special = old.get("options", "").startswith(("@cert-authority", "@revoke"))
        if not special and new["host"][:3] == "|1|" and old["host"][:3] == "|1|":
            new["host"] = old["host"]
        if new == old:
            return True, False, line_no
        if not special and new.get("type") == old.get("type"):
            return True, True, line_no
    return True, True, None


def _known_hosts(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    host = str(args.get("name") or args.get("host")).lower()
    key = args.get("key") or None
    state = args.get("state", "present")
    path = _expand(ctx, str(args.get("path") or "~/.ssh/known_hosts"))
    if not key and state != "absent":
        raise StepFailed("key: No key specified when adding a host")
    if key and args.get("hash_host"):
        key = _hash(host, key)
    if key and not key.endswith("\n"):
        key += "\n"
    if key:
        if re.search(r"\S+(\s+)?,(\s+)?", host):
            raise StepFailed(
                "name: Comma separated list of names is not supported. "
                "Please pass a single name to lookup in the known_hosts file."
            )
        if not run_stdin(ctx, ["sh", "-c", _SANITY, "sh", host], key).strip():
            raise StepFailed("key: Host parameter does not match hashed host field in supplied key")
    probe = run(ctx, ["sh", "-c", _SEARCH, "sh", path, host])
    before, _, rest = probe.stdout.partition("@@corral@@\n")
    exists = bool(rest)
    output, _, code = rest.rpartition("@@corral@@")
    if exists and code.strip() not in ("0", "1"):
        raise StepFailed(f"ssh-keygen failed (rc={code.strip()}, output='{output.strip()}')")
    found, replace, found_line = _search(host, key, output) if exists else (False, False, None)
    lines = before.splitlines(keepends=True)
    drop = found_line if (replace or state == "absent") else None
    after_lines = [line for n, line in enumerate(lines, 1) if n != drop]
    if state == "present" and (replace or found_line is None):
        after_lines.append(key or "")
    diff = {"before_header": path if exists else "/dev/null", "after_header": path}
    diff |= {"before": before, "after": "".join(after_lines)}
    data = {"name": host, "key": args.get("key"), "path": path, "state": state}
    data["hash_host"] = bool(args.get("hash_host"))
    if state == "absent" and not found_line and key:
        return StepResult(changed=False, diff=diff if ctx.diff else None, data=data)
    changed = replace or (state == "present") != found
    if ctx.check_mode or not changed:
        return StepResult(changed=changed, diff=diff if ctx.diff and changed else None, data=data)
    if found and not key:
        removed = run(ctx, ["ssh-keygen", "-R", host, "-f", path])
        if removed.rc != 0:
            raise StepFailed(f"ssh-keygen -R failed: {removed.stderr.strip()}")
        reread = run(ctx, ["cat", "--", path])
        after_lines = reread.stdout.splitlines(keepends=True)
    _write(ctx, path, "".join(after_lines))
    return StepResult(changed=True, diff=diff if ctx.diff else None, data=data)


def run_stdin(ctx: StepContext, argv: list[str], text: str) -> str:
    return ctx.conn.run(argv, stdin=text, become=ctx.become, timeout=ctx.timeout).stdout


def _write(ctx: StepContext, path: str, text: str) -> None:
    """Replace the file, keeping an existing file's mode and owner (Ansible's atomic_move)."""
    directory = posixpath.dirname(path) or "."
    if ctx.conn.stat(directory, become=ctx.become, timeout=ctx.timeout) is None:
        raise StepFailed(f"Failed to write to file {path!r}: {directory} does not exist")
    current = ctx.conn.stat(path, become=ctx.become, timeout=ctx.timeout)
    mode = (current.mode & 0o7777) if current is not None else 0o644
    ctx.conn.put(text.encode(), path, mode=mode, become=ctx.become, timeout=ctx.timeout)
    if current is not None:
        run(ctx, ["chown", f"{current.uid}:{current.gid}", "--", path])
