"""The ``assemble`` step: one file made of a directory's fragments, as Ansible's ``assemble``.

The fragments are the regular files of ``src`` (symlinks to files count), in the order of
their names; ``regexp`` keeps those whose names it finds, ``ignore_hidden`` drops dot
files. ``src`` is on the host, or with ``remote_src: false`` on the controller. Between
two fragments come a newline when the first did not end with one, then ``delimiter``
(its backslash escapes decoded) and a newline, byte for byte as Ansible joins them. The
file is then written as ``copy`` writes one: only when it differs, with ``mode``,
``owner``, ``group``, ``backup`` and ``validate``, and in check mode not at all.
"""

from __future__ import annotations

import codecs
import hashlib
import re
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from corral import StepContext, StepFailed, StepResult
from corral_plugins.files.content import read_source, write_file

__all__ = ["assemble", "join_fragments"]

# Prints the names of the regular files in "$1", each ended by a NUL; exit 3 when "$1"
# does not exist, 4 when it is no directory. POSIX sh: the hosts may have no GNU find.
_LIST = """[ -e "$1" ] || exit 3
[ -d "$1" ] || exit 4
cd -- "$1" || exit 5
for f in * .[!.]* ..?*; do
  [ -f "$f" ] && printf '%s\\0' "$f"
done
exit 0
"""


def assemble(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Write ``dest`` from the fragments in ``src``."""
    src = args["src"]
    try:
        pattern = re.compile(args["regexp"]) if args.get("regexp") else None
    except re.error as exc:
        return StepResult(failed=True, msg=f"regexp: invalid regular expression: {exc}")
    try:
        if args.get("remote_src", True):
            fragments = _host_fragments(ctx, src, pattern, bool(args.get("ignore_hidden")))
        else:
            fragments = _local_fragments(ctx, args, pattern)
    except StepFailed as exc:
        return StepResult(failed=True, msg=exc.message)
    payload = join_fragments(fragments, args.get("delimiter"))
    dest = args["dest"]
    current = ctx.conn.stat(dest, checksum=True, become=ctx.become, timeout=ctx.timeout)
    result = write_file(ctx, args, payload, dest=dest, current=current, header=src)
    result.data.update(src=src, md5sum=hashlib.md5(payload, usedforsecurity=False).hexdigest())
    if not result.failed:
        result.msg = "OK"  # Ansible's word, written or not
    return result


def join_fragments(fragments: Iterable[bytes], delimiter: str | None) -> bytes:
    """The fragments joined as Ansible's ``assemble_from_fragments`` joins them."""
    parts: list[bytes] = []
    separator = codecs.escape_decode(delimiter.encode())[0] if delimiter else b""
    for index, fragment in enumerate(fragments):
        if index and not parts[-1].endswith(b"\n"):
            parts.append(b"\n")
        if index and separator:
            # Ansible always adds a newline after the delimiter: its test for one already
            # there compares a byte with bytes, which is never equal.
            parts.extend((separator, b"\n"))
        parts.append(fragment)
    return b"".join(parts)


def _selected(names: Iterable[str], pattern: re.Pattern[str] | None, hidden: bool) -> list[str]:
    return [
        name
        for name in sorted(names)
        if (pattern is None or pattern.search(name)) and not (hidden and name.startswith("."))
    ]


def _host_fragments(
    ctx: StepContext, src: str, pattern: re.Pattern[str] | None, ignore_hidden: bool
) -> list[bytes]:
    listed = ctx.conn.run(
        ["/bin/sh", "-c", _LIST, "assemble", src], become=ctx.become, timeout=ctx.timeout
    )
    if listed.rc == 3:
        raise StepFailed(f"Source ({src}) does not exist")
    if listed.rc == 4:
        raise StepFailed(f"Source ({src}) is not a directory")
    if listed.rc != 0 or listed.timed_out:
        detail = listed.stderr.strip() or f"rc={listed.rc}"
        raise StepFailed(f"cannot list the fragments in {src}: {detail}")
    names = [name for name in listed.stdout.split("\0") if name]
    fragments = []
    with tempfile.TemporaryDirectory(prefix="corral-assemble-") as scratch:
        local = Path(scratch) / "fragment"
        for name in _selected(names, pattern, ignore_hidden):
            ctx.conn.get(f"{src.rstrip('/')}/{name}", local, become=ctx.become, timeout=ctx.timeout)
            fragments.append(local.read_bytes())
    return fragments


def _local_fragments(
    ctx: StepContext, args: Mapping[str, Any], pattern: re.Pattern[str] | None
) -> list[bytes]:
    found = ctx.find_file(args["src"], "files")
    if found is None:
        raise StepFailed(f"Source ({args['src']}) does not exist")
    if not found.is_dir():
        raise StepFailed(f"Source ({found}) is not a directory")
    names = [entry.name for entry in found.iterdir() if entry.is_file()]
    chosen = _selected(names, pattern, bool(args.get("ignore_hidden")))
    read = read_source if args.get("decrypt", True) else Path.read_bytes
    from corral.vault import VaultError

    try:
        return [read(found / name) for name in chosen]
    except VaultError as exc:
        raise StepFailed(str(exc)) from None
