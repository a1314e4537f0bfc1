"""Steps that move work or files across SSH: ``ssh`` and ``fetch``.

``ssh`` reaches a machine that is not in the inventory (a bastion, a backup box) from the
controller: it opens its own SSH connection for the step, runs one command or transfers
one file, and closes it. ``fetch`` copies a file from the task's host back to the
controller, Ansible's way (``dest/<host>/<path>`` unless ``flat``). Transfers compare
sha1 checksums first, so a file already in place is left alone (``changed: false``).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import posixpath
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from corral import (
    Connection,
    HostUnreachable,
    RegisterStep,
    StepContext,
    StepFailed,
    StepResult,
    StepType,
)
from corral_plugins.files.attributes import MODE_PROPERTY, parse_mode

__all__ = ["FETCH_SCHEMA", "SSH_SCHEMA", "fetch", "ssh"]

# Controller-side settings a task's host passes on to the connections the ssh step opens.
_INHERITED = ("corral_known_hosts", "corral_ssh_config")

_TRANSFER: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["src", "dest"],
    "properties": {
        "src": {"type": "string", "description": "the file to copy"},
        "dest": {"type": "string", "description": "where to write it"},
        "mode": {**MODE_PROPERTY, "description": "the mode of the written file (put only)"},
    },
}

SSH_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["host"],
    "oneOf": [{"required": ["command"]}, {"required": ["put"]}, {"required": ["get"]}],
    "properties": {
        "host": {
            "type": "string",
            "description": "The machine to connect to, a name or an address; it need not be "
            "in the inventory (names are looked up in ~/.ssh/config).",
        },
        "port": {"type": ["integer", "string"], "description": "The SSH port (default 22)."},
        "user": {
            "type": "string",
            "description": "The user to log in as (default: the local user).",
        },
        "private_key_file": {"type": "string", "description": "A private key file to log in with."},
        "password": {"description": "A password to log in with; give it as a secret."},
        "proxy_jump": {
            "type": "string",
            "description": "Jump hosts to go through, as ProxyJump: `[user@]host[:port][,...]`.",
        },
        "host_key_checking": {
            "enum": ["strict", "accept-new", "off"],
            "description": "How to treat the machine's host key (default `strict`); see "
            "docs/connections.md.",
        },
        "connect_timeout": {
            "type": ["number", "string"],
            "description": "Seconds to connect and log in (default 10).",
        },
        "command": {
            "type": ["string", "array"],
            "items": {"type": "string"},
            "description": "A command to run there: a string goes through `/bin/sh -c`, a list "
            "runs as an argv with no shell.",
        },
        "stdin": {"type": "string", "description": "Text fed to the command's standard input."},
        "chdir": {"type": "string", "description": "The directory to run the command in."},
        "put": {
            **_TRANSFER,
            "description": "Copy a controller file there: `{src, dest, mode}` (`src` is looked "
            "up in `files/` like copy's); nothing is sent when `dest` is already identical.",
        },
        "get": {
            **_TRANSFER,
            "description": "Copy a file from there to the controller: `{src, dest}`; nothing is "
            "fetched when `dest` is already identical.",
        },
    },
}

FETCH_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["src", "dest"],
    "properties": {
        "src": {"type": "string", "description": "The file on the host to fetch."},
        "dest": {
            "type": "string",
            "description": "A controller directory: the file is saved as "
            "`dest/<inventory_hostname>/<src>`. A relative path is relative to the playbook's "
            "directory.",
        },
        "flat": {
            "type": "boolean",
            "default": False,
            "description": "Save as `dest` itself (or `dest/<file name>` when `dest` ends "
            "with `/`), without the host and path directories.",
        },
        "fail_on_missing": {
            "type": "boolean",
            "default": True,
            "description": "Fail when `src` does not exist; with `false`, report it and go on.",
        },
        "validate_checksum": {
            "type": "boolean",
            "default": True,
            "description": "Check the fetched file's sha1 against the host's.",
        },
    },
}


# -- ssh -------------------------------------------------------------------------------


def ssh(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Run a command on, or move a file to or from, a machine outside the inventory."""
    from corral_plugins.ssh.connection import SshConnection

    if "command" in args and ctx.check_mode:
        return StepResult(skipped=True, msg="Command would have run if not in check mode")
    variables = _connection_variables(ctx, args)
    try:
        with SshConnection(str(args["host"]), variables) as conn:
            if "command" in args:
                return _command(ctx, conn, args)
            if "put" in args:
                return _put(ctx, conn, args["put"])
            return _get(ctx, conn, args["get"])
    except HostUnreachable as exc:
        # The machine reached is not the play's host: its failure fails the task, it does
        # not make the play's host unreachable.
        return StepResult(
            failed=True, msg=exc.message, data={"host": args["host"], "hint": exc.hint}
        )


def _connection_variables(ctx: StepContext, args: Mapping[str, Any]) -> dict[str, Any]:
    variables: dict[str, Any] = {name: ctx.vars[name] for name in _INHERITED if name in ctx.vars}
    variables["ansible_host"] = args["host"]
    pairs = (
        ("port", "ansible_port"),
        ("user", "ansible_user"),
        ("private_key_file", "ansible_ssh_private_key_file"),
        ("password", "ansible_password"),
        ("proxy_jump", "corral_ssh_proxy_jump"),
        ("host_key_checking", "host_key_checking"),
        ("connect_timeout", "corral_ssh_connect_timeout"),
    )
    for arg, name in pairs:
        if args.get(arg) is not None:
            variables[name] = args[arg]
    return variables


def _command(ctx: StepContext, conn: Connection, args: Mapping[str, Any]) -> StepResult:
    command = args["command"]
    result = conn.run(
        command if isinstance(command, str) else [str(part) for part in command],
        stdin=args.get("stdin"),
        env=ctx.env,
        cwd=args.get("chdir"),
        timeout=ctx.timeout,
        become=ctx.become,
    )
    if result.timed_out:
        msg = f"command timed out after {ctx.timeout:g} seconds" if ctx.timeout else "timed out"
    else:
        msg = "non-zero return code" if result.rc != 0 else ""
    return StepResult(
        changed=True,
        failed=bool(msg),
        msg=msg,
        rc=result.rc,
        stdout=result.stdout.rstrip("\r\n"),
        stderr=result.stderr.rstrip("\r\n"),
        data={"host": args["host"], "cmd": command},
    )


def _put(ctx: StepContext, conn: Connection, spec: Mapping[str, Any]) -> StepResult:
    source = ctx.find_file(spec["src"], "files")
    if source is None or not source.is_file():
        return StepResult(
            failed=True, msg=f"Could not find or access '{spec['src']}' on the controller"
        )
    checksum = _sha1(source)
    mode = parse_mode(spec.get("mode"))
    dest = spec["dest"]
    current = conn.stat(dest, checksum=True, become=ctx.become, timeout=ctx.timeout)
    data = {"src": str(source), "dest": dest, "checksum": checksum}
    if current is not None and current.is_dir:
        dest = data["dest"] = posixpath.join(dest, source.name)
        current = conn.stat(dest, checksum=True, become=ctx.become, timeout=ctx.timeout)
    same_mode = mode is None or (current is not None and current.mode & 0o7777 == mode)
    if current is not None and current.checksum == checksum and same_mode:
        return StepResult(msg=f"{dest} is already identical", data=data)
    if not ctx.check_mode:
        conn.put(source, dest, mode=mode, become=ctx.become, timeout=ctx.timeout)
    return StepResult(
        changed=True, msg="" if not ctx.check_mode else f"would write {dest}", data=data
    )


def _get(ctx: StepContext, conn: Connection, spec: Mapping[str, Any]) -> StepResult:
    src = spec["src"]
    dest = _local_path(ctx, spec["dest"])
    if spec["dest"].endswith("/") or dest.is_dir():
        root = os.path.abspath(dest)
        target = os.path.normpath(os.path.join(root, posixpath.basename(src)))
        refused = _escapes(target, root)
        if refused:
            return StepResult(failed=True, msg=refused, data={"file": src, "dest": target})
        dest = Path(target)
    return _download(ctx, conn, src, dest, validate=True, fail_on_missing=True)


# -- fetch -------------------------------------------------------------------------------


def fetch(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Copy a file from the host to the controller, one directory per host unless ``flat``."""
    src: str = args["src"]
    base = os.path.abspath(_local_path(ctx, args["dest"]))
    if args.get("flat", False) and not args["dest"].endswith("/"):
        # dest names the file itself: the user chose it, so there is nothing to contain.
        if os.path.isdir(base):
            return StepResult(
                failed=True,
                msg="dest is an existing directory, use a trailing slash if you want to "
                "fetch src into that directory",
            )
        target, refused = base, None
    elif args.get("flat", False):
        target = os.path.normpath(os.path.join(base, posixpath.basename(src)))
        refused = _escapes(target, base)
    else:
        # An absolute host name replaces dest, and so is refused below; an absolute src is
        # the usual case and goes under the host's directory (joined as Ansible does).
        host_dir = os.path.normpath(os.path.join(base, ctx.host))
        target = os.path.normpath(f"{host_dir}/{src}")
        # The host's directory stays in dest, and src stays in the host's directory,
        # so one host can neither write outside dest nor over another host's files.
        refused = _escapes(target, base, host_dir) or _escapes(target, host_dir)
    if refused:
        return StepResult(failed=True, msg=refused, data={"file": src, "dest": target})
    return _download(
        ctx,
        ctx.conn,
        src,
        Path(target),
        validate=args.get("validate_checksum", True),
        fail_on_missing=args.get("fail_on_missing", True),
    )


def _escapes(target: str, root: str, inner: str | None = None) -> str | None:
    """Why writing ``target`` would leave ``root``, or ``None`` when it stays strictly inside.

    ``target``, ``root`` and ``inner`` are absolute and normalised. ``inner`` (default
    ``target``) is the path whose place is checked: the host's directory when checking
    that it stays in dest. Checked twice: as written (``..`` and absolute parts), then
    with the symlinks already on disk resolved, so a link planted under dest that points
    elsewhere is refused instead of followed.
    """
    checked = target if inner is None else inner
    real_root = os.path.realpath(root)
    for path, container in ((checked, root), (os.path.realpath(checked), real_root)):
        if os.path.commonpath([path, container]) != container or path == container:
            shown = target if path == checked else os.path.realpath(target)
            return (
                f"Detected directory traversal, expected to be contained in '{root}' "
                f"but got '{shown}'"
            )
    return None


def _download(
    ctx: StepContext,
    conn: Connection,
    src: str,
    dest: Path,
    *,
    validate: bool,
    fail_on_missing: bool,
) -> StepResult:
    """Fetch ``src`` into ``dest`` unless it is already identical; atomic, checksum-verified."""
    current = conn.stat(src, checksum=True, become=ctx.become, timeout=ctx.timeout)
    data: dict[str, Any] = {"file": src, "dest": str(dest)}
    if current is None:
        data["msg"] = f"file not found: {src}"
        return StepResult(failed=fail_on_missing, msg=f"file not found: {src}", data=data)
    if current.is_dir:
        return StepResult(
            failed=True,
            msg="remote file is a directory, fetch cannot work on directories",
            data=data,
        )
    data["remote_checksum"] = current.checksum
    local = _sha1(dest) if dest.is_file() else None
    if local is not None and local == current.checksum:
        data.update(checksum=local, md5sum=_md5(dest))
        return StepResult(msg=f"{dest} is already identical", data=data)
    if ctx.check_mode:
        return StepResult(changed=True, msg=f"would fetch {src} to {dest}", data=data)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.")
        os.close(fd)
    except OSError as exc:
        raise StepFailed(f"cannot write {dest}: {exc.strerror}") from exc
    temp = Path(name)
    try:
        conn.get(src, temp, become=ctx.become, timeout=ctx.timeout)
        checksum = _sha1(temp)
        if validate and current.checksum is not None and checksum != current.checksum:
            return StepResult(
                failed=True,
                msg=f"checksum mismatch: fetched {checksum}, the host has {current.checksum}",
                data=data,
            )
        os.replace(temp, dest)
    finally:
        with contextlib.suppress(OSError):
            temp.unlink()
    data.update(checksum=checksum, md5sum=_md5(dest))
    return StepResult(changed=True, data=data)


def _local_path(ctx: StepContext, text: str) -> Path:
    """A controller path: ``~`` expanded, a relative one under the playbook's directory."""
    path = Path(os.path.expanduser(text))
    if path.is_absolute() or not ctx.search_paths:
        return path
    return Path(ctx.search_paths[-1]) / path


def _sha1(path: Path) -> str:
    return _digest(path, hashlib.sha1())  # noqa: S324 - Ansible's checksum


def _md5(path: Path) -> str:
    return _digest(path, hashlib.md5())  # noqa: S324 - Ansible's md5sum field


def _digest(path: Path, digest: Any) -> str:
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise StepFailed(f"cannot read {path}: {exc.strerror}") from exc
    return str(digest.hexdigest())


# -- registration ------------------------------------------------------------------------


def register_steps(register: RegisterStep) -> None:
    """Register ``ssh`` and ``fetch``."""
    register(
        StepType(
            name="ssh",
            run=ssh,
            schema=SSH_SCHEMA,
            check_mode=True,
            on="controller",
            description="Run a command on, or copy a file to or from, a machine outside "
            "the inventory.",
        )
    )
    register(
        StepType(
            name="fetch",
            run=fetch,
            schema=FETCH_SCHEMA,
            aliases=("ansible.builtin.fetch", "ansible.legacy.fetch"),
            check_mode=True,
            description="Copy a file from the host to the controller.",
        )
    )
