"""``user``'s ``generate_ssh_key``: an SSH key pair for the user, made on the host once.

Like Ansible: an existing key is kept (reported, not changed) unless ``force``; the
key's directory is created 0700 and both files are given to the user.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from typing import Any

from corral import StepContext, StepFailed
from corral_plugins.users.accounts import Passwd, run

__all__ = ["ssh_key"]

# $1 file, $2 uid, $3 gid, $4 type, $5 bits, $6 comment ("" = Ansible's default),
# $7 passphrase, $8 force. Prints "exists" when the key is kept.
_GENERATE = r"""set -e
dir=$(dirname "$1")
if [ -e "$1" ] || [ -e "$1.pub" ]; then
  if [ "$8" != 1 ]; then echo exists; exit 0; fi
  rm -f "$1" "$1.pub"
fi
if [ ! -d "$dir" ]; then mkdir -m 700 -p "$dir"; chown "$2:$3" "$dir"; fi
comment=$6
[ -n "$comment" ] || comment="ansible-generated on $(hostname)"
if [ "$5" -gt 0 ]; then bits="-b $5"; else bits=; fi
ssh-keygen -q -t "$4" $bits -C "$comment" -N "$7" -f "$1" </dev/null
chown "$2:$3" "$1" "$1.pub"
"""


def key_path(args: Mapping[str, Any], entry: Passwd) -> str:
    default = posixpath.join(".ssh", f"id_{args.get('ssh_key_type') or 'rsa'}")
    path = str(args.get("ssh_key_file") or default)
    return path if posixpath.isabs(path) else posixpath.join(entry.home, path)


def ssh_key(
    ctx: StepContext, args: Mapping[str, Any], entry: Passwd
) -> tuple[bool, dict[str, Any]]:
    """Generate the key if missing (not in check mode); whether it changed, and result keys."""
    path = key_path(args, entry)
    exists = ctx.conn.stat(path, become=ctx.become, timeout=ctx.timeout) is not None
    changed = not exists or bool(args.get("force"))
    if changed and not ctx.check_mode:
        argv = [
            "sh", "-c", _GENERATE, "sh", path, str(entry.uid), str(entry.gid),
            str(args.get("ssh_key_type") or "rsa"), str(int(args.get("ssh_key_bits") or 0)),
            str(args.get("ssh_key_comment") or ""), str(args.get("ssh_key_passphrase") or ""),
            "1" if args.get("force") else "0",
        ]  # fmt: skip
        result = run(ctx, argv)
        if result.rc != 0:
            raise StepFailed(f"ssh-keygen failed for {path}: {result.stderr.strip()}")
    data: dict[str, Any] = {"ssh_key_file": path}
    shown = run(ctx, ["sh", "-c", 'ssh-keygen -l -f "$1.pub" && cat "$1.pub"', "sh", path])
    lines = shown.stdout.splitlines()
    if shown.rc == 0 and len(lines) >= 2:
        data |= {"ssh_fingerprint": lines[0].strip(), "ssh_public_key": lines[1].strip()}
    else:
        data |= {"ssh_fingerprint": shown.stderr.strip(), "ssh_public_key": ""}
    return changed, data
