"""The ``deb822_repository`` step: a ``.sources`` file in deb822 format, with its signing key.

As Ansible's module: the file is /etc/apt/sources.list.d/<slug>.sources, its fields
in the order of the argument names; ``signed_by`` is a key file on the host (used as
is), a URL (its key is downloaded, by the controller here, to
/etc/apt/keyrings/<slug>.asc or .gpg) or an armored key (written into the file).
Ansible's module does not update the cache: run ``apt`` with ``update_cache``.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Mapping
from typing import Any

from corral import StepContext, StepResult
from corral_plugins.files.attributes import parse_mode
from corral_plugins.packages.common import download
from corral_plugins.packages.sources import SOURCES_DIR, read_files, remove_file, write_file

__all__ = ["deb822_repository", "render", "slug_of"]

KEYRINGS_DIR = "/etc/apt/keyrings"


_NOT_FIELDS = frozenset({"mode", "state", "install_python_debian"})


def slug_of(name: str) -> str:
    """The file name Ansible derives from ``name``."""
    return re.sub(r"[^a-z0-9-]+", "", re.sub(r"[_\s]+", "-", name.lower()))


def _field_name(key: str) -> str:
    if key == "name":
        return "X-Repolib-Name"
    if key == "uris":
        return "URIs"
    return key.replace("_", "-").title()


def render(fields: Mapping[str, Any]) -> str:
    """The deb822 stanza for the arguments (``signed_by`` already resolved), sorted by name."""
    lines = []
    for key, value in sorted(fields.items()):
        if value is None or key in _NOT_FIELDS:
            continue
        if isinstance(value, bool):
            text = "yes" if value else "no"
        elif isinstance(value, (list, tuple)):
            text = " ".join(str(item) for item in value)
        else:
            text = str(value)
        if "\n" in text:
            body = "\n".join(line.strip() or "." for line in text.strip().splitlines())
            lines.append(f"{_field_name(key)}:\n{textwrap.indent(body, '    ')}")
        else:
            lines.append(f"{_field_name(key)}: {text}")
    return "\n".join(lines) + "\n"


def deb822_repository(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Write (or delete) the .sources file and its downloaded key."""
    slug = slug_of(str(args["name"]))
    dest = f"{SOURCES_DIR}/{slug}.sources"
    keys = [f"{KEYRINGS_DIR}/{slug}.{ext}" for ext in ("asc", "gpg")]
    current = read_files(ctx, [dest, *keys])
    if args.get("state", "present") == "absent":
        gone = [path for path in (dest, *keys) if path in current]
        if not ctx.check_mode:
            for path in gone:
                remove_file(ctx, path)
        data = {"repo": None, "dest": dest, "key_filename": keys[-1]}
        return StepResult(changed=bool(gone), data=data)
    changed = False
    fields = {"types": ["deb"], **args}  # the schema's default, which apt needs
    key_filename = None
    signed_by = args.get("signed_by")
    if signed_by:
        key_filename, value, changed = _signed_by(ctx, str(signed_by), slug, current)
        fields["signed_by"] = value
    text = render(fields)
    before = current.get(dest)
    mode = parse_mode(args.get("mode", "0644")) or 0o644
    if before != text:
        changed = True
        if not ctx.check_mode:
            write_file(ctx, dest, text, mode)
    elif not ctx.check_mode:
        found = ctx.conn.stat(dest, become=ctx.become, timeout=ctx.timeout)
        if found is not None and found.mode & 0o7777 != mode:
            write_file(ctx, dest, text, mode)
            changed = True
    result = StepResult(
        changed=changed, data={"repo": text, "dest": dest, "key_filename": key_filename}
    )
    if changed and ctx.diff:
        result.diff = {
            "before": before or "",
            "after": text,
            "before_header": dest if before is not None else "/dev/null",
            "after_header": dest,
        }
    return result


def _signed_by(
    ctx: StepContext, value: str, slug: str, current: Mapping[str, str]
) -> tuple[str | None, str, bool]:
    """(key file, the Signed-By value, whether the key file changed)."""
    if "://" not in value:
        found = ctx.conn.stat(value, become=ctx.become, timeout=ctx.timeout)
        if found is not None and found.is_file:
            return value, value, False
        return None, value, False  # an inline key, written into the file
    payload = download(value, "Could not fetch signed_by key")
    ext = "asc" if b"-----BEGIN PGP PUBLIC KEY BLOCK-----" in payload else "gpg"
    path = f"{KEYRINGS_DIR}/{slug}.{ext}"
    if ext == "asc" and current.get(path) == payload.decode(errors="replace"):
        return path, path, False
    if ext == "gpg" and path in current and _same_binary(ctx, path, payload):
        return path, path, False
    if not ctx.check_mode:
        host_mkdir = ["mkdir", "-p", "-m", "0755", "--", KEYRINGS_DIR]
        ctx.conn.run(host_mkdir, become=ctx.become, timeout=ctx.timeout)
        write_file(ctx, path, payload, 0o644)
    return path, path, True


def _same_binary(ctx: StepContext, path: str, payload: bytes) -> bool:
    import hashlib

    found = ctx.conn.stat(path, checksum=True, become=ctx.become, timeout=ctx.timeout)
    return found is not None and found.checksum == hashlib.sha1(payload).hexdigest()  # noqa: S324
