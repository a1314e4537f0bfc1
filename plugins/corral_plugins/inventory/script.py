"""Executable inventory scripts, speaking Ansible's dynamic-inventory JSON protocol.

``SCRIPT --list`` prints ``{"group": {"hosts": [...], "vars": {...},
"children": [...]}, "_meta": {"hostvars": {"host": {...}}}}``; without
``_meta``, ``SCRIPT --host HOST`` is run for each host. Every run has a timeout
(``CORRAL_INVENTORY_TIMEOUT`` seconds, 30 by default), and a cap bounds what one
script may print in all, ``--list`` and every ``--host`` run together
(``CORRAL_INVENTORY_MAX_OUTPUT_MB`` MiB of standard output, 64 by default):
output is read as it comes, and the script is killed when it crosses the cap; of
standard error only the last few KiB are kept. A script that fails, hangs, prints
too much or prints something other than a JSON object is an error, and when the
script starts with ``#!`` that error is final: its code is not then read as INI.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from corral.errors import InventoryError, Location, UsageError
from corral.inventory.model import Inventory, as_inventory
from corral.inventory.source import InventoryBuilder, InventorySourceType, SourceClaimError
from corral.playbook.yaml.limits import MAX_DEPTH
from corral.playbook.yaml.read import JSONTooDeep, first_line, loads_json, mark_unsafe

__all__ = [
    "DEFAULT_MAX_OUTPUT_MB",
    "DEFAULT_SCRIPT_TIMEOUT",
    "SCRIPT_SOURCE",
    "read_script",
    "script_output_cap",
    "script_timeout",
]

DEFAULT_SCRIPT_TIMEOUT = 30.0
DEFAULT_MAX_OUTPUT_MB = 64.0
_STDERR_KEPT = 8192  # bytes: enough for the last line of an error, never a flood
_CHUNK = 65536


@dataclass
class _Limits:
    """The timeout of each run, and what is left of the output cap for all of them."""

    timeout: float
    max_bytes: int
    max_shown: str
    used: int = 0


def read_script(path: str, builder: InventoryBuilder) -> None:
    """Run the inventory script at ``path`` and add what it reports to ``builder``.

    Raises :class:`SourceClaimError` rather than :class:`InventoryError` when the
    file starts with ``#!``: it is surely a script, so no other reader should try it.
    """
    inventory = as_inventory(builder)
    cap = script_output_cap(inventory.environ)
    limits = _Limits(script_timeout(inventory.environ), int(cap * 2**20), f"{cap:g} MiB")
    try:
        _read(path, inventory, limits)
    except InventoryError as exc:
        if not first_line(path).startswith("#!"):
            raise
        raise SourceClaimError(exc.message, hint=exc.hint, location=exc.location) from exc


def script_timeout(environ: Mapping[str, str]) -> float:
    """Seconds allowed per script run: ``CORRAL_INVENTORY_TIMEOUT``, else 30."""
    text = environ.get("CORRAL_INVENTORY_TIMEOUT", "").strip()
    if not text:
        return DEFAULT_SCRIPT_TIMEOUT
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not seconds > 0:
        raise UsageError(
            f"CORRAL_INVENTORY_TIMEOUT must be a positive number of seconds, not {text!r}"
        )
    return seconds


def script_output_cap(environ: Mapping[str, str]) -> float:
    """MiB of standard output allowed per run: ``CORRAL_INVENTORY_MAX_OUTPUT_MB``, else 64."""
    text = environ.get("CORRAL_INVENTORY_MAX_OUTPUT_MB", "").strip()
    if not text:
        return DEFAULT_MAX_OUTPUT_MB
    try:
        megabytes = float(text)
    except ValueError:
        megabytes = -1.0
    if not 0 < megabytes < 2**20:
        raise UsageError(
            f"CORRAL_INVENTORY_MAX_OUTPUT_MB must be a positive number of MiB, not {text!r}"
        )
    return megabytes


def _read(path: str, inventory: Inventory, limits: _Limits) -> None:
    data = _run_json(path, ["--list"], limits, inventory)
    if not isinstance(data, dict):
        raise _failure(path, f"--list printed a JSON {_kind(data)}, not an object")
    meta = data.get("_meta")
    hostvars: dict[str, Any] | None = None
    if meta is not None:
        if not isinstance(meta, dict) or not isinstance(meta.get("hostvars"), dict):
            raise _failure(path, "'_meta.hostvars' must be an object of host names")
        hostvars = meta["hostvars"]
    hosts: dict[str, None] = {}
    for group, group_data in data.items():
        if group != "_meta":
            _add_group(inventory, path, group, group_data, hosts)
    for host in hosts:
        if hostvars is None:
            variables = _run_json(path, ["--host", host], limits, inventory) or {}
        else:
            variables = hostvars.get(host, {})
        if not isinstance(variables, dict):
            raise _failure(path, f"the variables of host {host!r} must be an object")
        for key, value in variables.items():
            inventory.set_variable(host, key, value)


def _add_group(
    inventory: Inventory, path: str, group: str, data: Any, hosts: dict[str, None]
) -> None:
    inventory.add_group(group)
    if not isinstance(data, dict):
        data = {"hosts": data}  # the old form: a group is just its list of hosts
    elif not data.keys() & {"hosts", "vars", "children"}:
        # The old form: a "group" that is one host. Ansible never templates these values.
        data = {"hosts": [group], "vars": mark_unsafe(data)}
    if "hosts" in data:
        members = data["hosts"]
        if not isinstance(members, list):
            raise _failure(path, f"'{group}.hosts' must be a list, not a JSON {_kind(members)}")
        for host in members:
            inventory.add_host(host, group)
            hosts[host] = None
    if "vars" in data:
        variables = data["vars"]
        if not isinstance(variables, dict):
            raise _failure(path, f"'{group}.vars' must be an object, not a JSON {_kind(variables)}")
        for key, value in variables.items():
            inventory.set_variable(group, key, value)
    children = data.get("children", [])
    if not isinstance(children, list):
        raise _failure(path, f"'{group}.children' must be a list, not a JSON {_kind(children)}")
    for child in children:
        inventory.add_group(child)
        inventory.add_child(group, child)


def _run_json(path: str, args: list[str], limits: _Limits, inventory: Inventory) -> Any:
    """Run the script with ``args`` and parse what it prints as JSON."""
    output = _run(path, args, limits, inventory)
    if args[0] == "--host" and not output.strip():
        return {}
    try:
        return loads_json(output)
    except JSONTooDeep as exc:
        raise _failure(
            path,
            f"the inventory script's {' '.join(args)} output is {exc.msg} "
            f"(at line {exc.lineno}, column {exc.colno})",
            hint=f"corral refuses JSON nested deeper than {MAX_DEPTH} levels",
        ) from None
    except json.JSONDecodeError as exc:
        raise _failure(
            path,
            f"the inventory script's {' '.join(args)} output is not JSON "
            f"({exc.msg} at line {exc.lineno}, column {exc.colno})",
        ) from None


def _run(path: str, args: list[str], limits: _Limits, inventory: Inventory) -> str:
    try:
        process = subprocess.Popen(
            [path, *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=inventory.cwd,
            start_new_session=True,  # so a timeout can stop the script's children too
        )
    except OSError as exc:
        raise _failure(path, f"cannot run the inventory script: {exc.strerror or exc}") from None
    try:
        stdout, stderr = _collect(process, path, args, limits)
    finally:
        if process.poll() is None:
            _kill_group(process)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
    errors = stderr.decode(errors="replace").strip()
    if process.returncode != 0:
        last = errors.splitlines()[-1] if errors else ""
        raise _failure(
            path,
            f"the inventory script exited with code {process.returncode} on {' '.join(args)}",
            hint=f"it said: {last}" if last else None,
        )
    try:
        return stdout.decode("utf-8")
    except UnicodeDecodeError:
        raise _failure(path, "the inventory script printed bytes that are not UTF-8") from None


def _collect(
    process: subprocess.Popen[bytes], path: str, args: list[str], limits: _Limits
) -> tuple[bytes, bytes]:
    """Read the script's output as it comes, until it exits; stop it past either limit.

    Standard output is kept up to ``limits.max_bytes``; of standard error only the last
    :data:`_STDERR_KEPT` bytes, so that neither stream can fill the controller's memory.
    """
    deadline = time.monotonic() + limits.timeout
    stdout, stderr = bytearray(), bytearray()
    allowed = limits.max_bytes - limits.used
    with selectors.DefaultSelector() as selector:
        for stream, buffer in ((process.stdout, stdout), (process.stderr, stderr)):
            if stream is not None:
                selector.register(stream, selectors.EVENT_READ, buffer)
        while selector.get_map():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _timed_out(process, path, args, limits)
            for key, _events in selector.select(remaining):
                chunk = os.read(key.fd, _CHUNK)
                if not chunk:
                    selector.unregister(key.fileobj)
                    continue
                buffer = key.data
                buffer += chunk
                if buffer is stderr:
                    del buffer[:-_STDERR_KEPT]
                elif len(buffer) > allowed:
                    _kill_group(process)
                    raise _failure(
                        path,
                        f"the inventory script printed more than {limits.max_shown} "
                        f"(stopped during {' '.join(args)})",
                        hint="raise CORRAL_INVENTORY_MAX_OUTPUT_MB (MiB, default "
                        f"{DEFAULT_MAX_OUTPUT_MB:g}) if the inventory is really that big",
                    )
    try:
        process.wait(timeout=max(deadline - time.monotonic(), 0.01))
    except subprocess.TimeoutExpired:
        raise _timed_out(process, path, args, limits) from None
    limits.used += len(stdout)
    return bytes(stdout), bytes(stderr)


def _timed_out(
    process: subprocess.Popen[bytes], path: str, args: list[str], limits: _Limits
) -> InventoryError:
    _kill_group(process)
    return _failure(
        path,
        f"the inventory script did not finish {' '.join(args)} within {limits.timeout:g} s",
        hint="raise CORRAL_INVENTORY_TIMEOUT (seconds) if the script is just slow",
    )


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except OSError:
        process.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)


def _failure(path: str, message: str, hint: str | None = None) -> InventoryError:
    return InventoryError(message, location=Location(path), hint=hint)


def _kind(value: Any) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")


def _verify_script(source: str) -> bool:
    return os.path.isfile(source) and os.access(source, os.X_OK)


SCRIPT_SOURCE = InventorySourceType(
    name="script",
    verify=_verify_script,
    parse=read_script,
    description="executable dynamic-inventory scripts (--list, --host, _meta.hostvars)",
    claims=lambda source: first_line(source).startswith("#!"),
)
