"""Step types that put content on the host: ``copy`` and ``template``.

Both compare the sha1 of the new content with the file on the host
(``conn.stat(checksum=True)``) and write only when it differs, atomically
(``conn.put``); mode, owner and group are then fixed where they differ. With
``--diff`` they show the old and new text of small text files; in check mode they
stop before writing. ``validate`` checks the new file before it replaces the old.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import shlex
import stat as stat_mod
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from corral import FileStat, StepContext, StepFailed, StepResult
from corral_plugins.files.attributes import (
    apply_attributes,
    format_mode,
    make_dirs,
    parse_mode,
    run_or_fail,
)

__all__ = ["MAX_DIFF_SIZE", "copy", "template", "write_file"]

# Ansible's default limit (MAX_FILE_SIZE_FOR_DIFF) on files shown in a diff.
MAX_DIFF_SIZE = 104448


# -- the steps ------------------------------------------------------------------


def copy(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Copy a local file, a directory or inline content to the host."""
    if "content" in args:
        payload = _content_bytes(args["content"])
        return _deliver(ctx, args, payload, source=None, header="dynamically generated")
    source = ctx.find_file(args["src"], "files")
    if source is None:
        return StepResult(
            failed=True, msg=f"Could not find or access '{args['src']}' on the controller"
        )
    from corral.vault import VaultError

    try:
        if source.is_dir():
            return _copy_tree(ctx, args, source)
        return _deliver(ctx, args, read_source(source), source=source, header=str(source))
    except VaultError as exc:
        return StepResult(failed=True, msg=str(exc))


def read_source(path: Path) -> bytes:
    """A source file's bytes, decrypted on the controller when it is vault-encrypted.

    As Ansible's ``copy`` and ``template`` do: the host gets the plaintext, and what the
    plaintext says is a secret from then on (redacted from output). A file that cannot be
    decrypted fails the task with the reason (:class:`corral.vault.VaultError`).
    """
    from corral.vault import decrypt_if_vault

    return decrypt_if_vault(path.read_bytes(), str(path))


def template(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Render a local Jinja2 template with the host's variables and write it to the host."""
    source = ctx.find_file(args["src"], "templates")
    if source is None or not source.is_file():
        return StepResult(
            failed=True, msg=f"Could not find or access '{args['src']}' on the controller"
        )
    from corral.vault import VaultError

    try:
        text = read_source(source).decode("utf-8")
    except VaultError as exc:
        return StepResult(failed=True, msg=str(exc))
    except (OSError, UnicodeDecodeError) as exc:
        return StepResult(failed=True, msg=f"cannot read template {source}: {exc}")
    extra = {
        "template_path": str(source),
        "template_fullpath": str(source.resolve()),
        "template_destpath": args["dest"],
    }
    if "ansible_managed" not in ctx.vars:
        extra["ansible_managed"] = "Ansible managed"
    rendered = ctx.render(text, extra)
    content = "" if rendered is None else str(rendered)
    # Jinja drops one trailing newline; a config file keeps it, as Ansible's template does.
    if text.endswith("\n") and not content.endswith("\n"):
        content += "\n"
    return _deliver(ctx, args, content.encode(), source=source, header=str(source))


# -- one file ------------------------------------------------------------------------

_KEPT = "content and attributes already as requested"


def _deliver(
    ctx: StepContext,
    args: Mapping[str, Any],
    payload: bytes,
    *,
    source: Path | None,
    header: str,
) -> StepResult:
    """Resolve ``dest`` (a directory gets the source's name) and write one file there."""
    dest = args["dest"]
    current = ctx.conn.stat(dest, checksum=True, become=ctx.become, timeout=ctx.timeout)
    if dest.endswith("/") or (current is not None and current.is_dir):
        if source is None:
            return StepResult(failed=True, msg="can not use content with a dir as dest")
        if current is None and not ctx.check_mode:
            make_dirs(ctx, dest)
        dest = posixpath.join(dest, source.name)
        current = ctx.conn.stat(dest, checksum=True, become=ctx.become, timeout=ctx.timeout)
    result = write_file(ctx, args, payload, dest=dest, current=current, header=header)
    if source is not None and not result.failed:
        result.data["src"] = str(source)
    return result


def write_file(
    ctx: StepContext,
    args: Mapping[str, Any],
    payload: bytes,
    *,
    dest: str,
    current: FileStat | None,
    header: str,
) -> StepResult:
    """Write ``payload`` to the file ``dest`` (``current`` is its stat, with checksum) as
    ``copy`` does: only when it differs, with ``args``' mode, owner, group, backup,
    validate and force; ``header`` names the new content in a diff."""
    checksum = hashlib.sha1(payload).hexdigest()  # noqa: S324 - Ansible's checksum
    mode = parse_mode(args.get("mode"))
    owner, group = args.get("owner"), args.get("group")
    data: dict[str, Any] = {"dest": dest, "checksum": checksum, "size": len(payload)}
    if current is not None and current.is_dir:
        return StepResult(failed=True, msg=f"{dest} is a directory", data=data)
    if current is not None and not args.get("force", True):
        return StepResult(msg="dest exists and force is false: left as it is", data=data)
    if current is not None and current.is_file and current.checksum == checksum:
        changes = apply_attributes(ctx, dest, current, mode=mode, owner=owner, group=group)
        # Unchanged, what was read is what there is: no second stat.
        final = None if changes else current
        msg = "; ".join(changes) or _KEPT
        return _result(ctx, dest, data, changed=bool(changes), msg=msg, final=final)
    diff = _diff(ctx, dest, current, payload, header) if ctx.diff else None
    if ctx.check_mode:
        verb = "create" if current is None else "replace"
        return StepResult(changed=True, msg=f"would {verb} {dest}", diff=diff, data=data)
    if mode is None and current is not None and current.is_file:
        mode = stat_mod.S_IMODE(current.mode)  # keep the old file's mode, as Ansible does
    if args.get("backup") and current is not None and current.is_file:
        data["backup_file"] = _backup(ctx, dest)
    failed = _put(ctx, payload, dest, mode, args.get("validate"))
    if failed is not None:
        failed.data.update(data)
        return failed
    if owner is not None or group is not None:
        written = ctx.conn.stat(dest, become=ctx.become, timeout=ctx.timeout)
        if written is not None:
            apply_attributes(ctx, dest, written, owner=owner, group=group)
    result = _result(ctx, dest, data, changed=True, msg="")
    result.diff = diff
    return result


def _put(
    ctx: StepContext, payload: bytes, dest: str, mode: int | None, validate: str | None
) -> StepResult | None:
    """Write ``payload`` to ``dest``; with ``validate``, check a copy first. A failure or None."""
    if validate is None:
        ctx.conn.put(payload, dest, mode=mode, become=ctx.become, timeout=ctx.timeout)
        return None
    try:
        validator = shlex.split(validate)
    except ValueError as exc:
        return StepResult(failed=True, msg=f"cannot split validate into arguments: {exc}")
    # The candidate sits beside dest so that the final rename is atomic.
    made = ctx.conn.run(
        ["mktemp", f"{dest}.corral-validate.XXXXXX"], timeout=ctx.timeout, become=ctx.become
    )
    if made.rc != 0:
        raise StepFailed(f"cannot make a temporary file beside {dest}: {made.stderr.strip()}")
    candidate = made.stdout.strip()
    try:
        ctx.conn.put(payload, candidate, mode=mode, become=ctx.become, timeout=ctx.timeout)
        argv = [part.replace("%s", candidate) for part in validator]
        checked = ctx.conn.run(argv, timeout=ctx.timeout, become=ctx.become)
        if checked.rc != 0 or checked.timed_out:
            return StepResult(
                failed=True,
                msg="failed to validate",
                rc=checked.rc,
                stdout=checked.stdout,
                stderr=checked.stderr,
                data={"exit_status": checked.rc},
            )
        run_or_fail(ctx, ["mv", "-f", "--", candidate, dest])
        candidate = ""
    finally:
        if candidate:
            ctx.conn.run(["rm", "-f", "--", candidate], timeout=ctx.timeout, become=ctx.become)
    return None


def _backup(ctx: StepContext, dest: str) -> str:
    backup = f"{dest}.{os.getpid()}.{time.strftime('%Y-%m-%d@%H:%M:%S')}~"
    run_or_fail(ctx, ["cp", "-p", "--", dest, backup])
    return backup


def _result(
    ctx: StepContext,
    dest: str,
    data: dict[str, Any],
    *,
    changed: bool,
    msg: str,
    final: FileStat | None = None,
) -> StepResult:
    """The result, with the file's attributes as they are now (as Ansible reports them)."""
    if final is None:
        final = ctx.conn.stat(dest, become=ctx.become, timeout=ctx.timeout)
    if final is not None:
        data.update(
            mode=format_mode(final.mode),
            owner=final.owner,
            group=final.group,
            uid=final.uid,
            gid=final.gid,
            state="file",
        )
    return StepResult(changed=changed, msg=msg, data=data)


def _diff(
    ctx: StepContext, dest: str, current: FileStat | None, payload: bytes, header: str
) -> dict[str, Any]:
    """Ansible's diff: before/after text, or a note when a side is binary or too large."""
    diff: dict[str, Any] = {"before_header": dest, "after_header": header}
    if current is None:
        diff["before"] = ""
    elif current.size > MAX_DIFF_SIZE:
        diff["dst_larger"] = MAX_DIFF_SIZE
    else:
        before = _fetch(ctx, dest)
        if b"\x00" in before:
            diff["dst_binary"] = 1
        else:
            diff["before"] = before.decode("utf-8", errors="replace")
    if len(payload) > MAX_DIFF_SIZE:
        diff["src_larger"] = MAX_DIFF_SIZE
    elif b"\x00" in payload:
        diff["src_binary"] = 1
    else:
        diff["after"] = payload.decode("utf-8", errors="replace")
    return diff


def _fetch(ctx: StepContext, path: str) -> bytes:
    with tempfile.TemporaryDirectory(prefix="corral-diff-") as scratch:
        local = Path(scratch) / "before"
        ctx.conn.get(path, local, become=ctx.become, timeout=ctx.timeout)
        return local.read_bytes()


def _content_bytes(content: Any) -> bytes:
    if isinstance(content, bytes):
        return content
    if isinstance(content, (dict, list)):
        return json.dumps(content).encode()
    return str(content).encode()


# -- a directory tree ----------------------------------------------------------------


def _copy_tree(ctx: StepContext, args: Mapping[str, Any], source: Path) -> StepResult:
    """Copy a local directory: ``src: dir/`` copies its contents, ``src: dir`` the directory."""
    root = args["dest"] if args["src"].endswith("/") else posixpath.join(args["dest"], source.name)
    changed_files: list[str] = []
    for directory, subdirs, names in os.walk(source):
        subdirs.sort()
        relative = os.path.relpath(directory, source)
        remote_dir = posixpath.normpath(posixpath.join(root, relative))
        if ctx.conn.stat(remote_dir, become=ctx.become, timeout=ctx.timeout) is None:
            changed_files.append(remote_dir + "/")
            if not ctx.check_mode:
                make_dirs(ctx, remote_dir)
        for name in sorted(names):
            dest = posixpath.join(remote_dir, name)
            current = ctx.conn.stat(dest, checksum=True, become=ctx.become, timeout=ctx.timeout)
            local = Path(directory) / name
            one = write_file(
                ctx, args, read_source(local), dest=dest, current=current, header=str(local)
            )
            if one.failed:
                return one
            if one.changed:
                changed_files.append(dest)
    msg = (
        f"{len(changed_files)} paths changed" if changed_files else "all files already as requested"
    )
    return StepResult(
        changed=bool(changed_files),
        msg=msg,
        data={"dest": root, "src": str(source), "changed_paths": changed_files},
    )
