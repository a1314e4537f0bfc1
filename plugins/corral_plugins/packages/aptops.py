"""The apt step's dealings with the host: the cache, policy-rc.d, .deb files, queries.

Each function runs a few commands through the connection; the decisions stay in
:mod:`corral_plugins.packages.apt`.
"""

from __future__ import annotations

import posixpath
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from corral import StepContext, StepFailed
from corral_plugins.packages.aptparse import (
    DPKG_FORMAT,
    Installed,
    parse_dpkg_query,
    parse_madison,
)
from corral_plugins.packages.common import download, host_run, run_or_raise

__all__ = [
    "AptOptions",
    "apt_get",
    "cache_age",
    "deb_fields",
    "deb_on_host",
    "dpkg_status",
    "policy_rc_d",
    "removing",
    "update_cache",
    "versions_available",
]

_CACHE_TIME = (
    "stat -c %Y /var/lib/apt/periodic/update-success-stamp 2>/dev/null"
    " || stat -c %Y /var/lib/apt/lists 2>/dev/null || echo 0; date +%s"
)

_CACHE_MARK = "@@corral-cache-time@@"
_UPDATE = f"apt-get update -q || exit $?\necho {_CACHE_MARK}\n{_CACHE_TIME}"


@dataclass(frozen=True)
class AptOptions:
    """The apt-get flags a task's arguments ask for (shared by every apt-get call)."""

    dpkg_options: str = "force-confdef,force-confold"
    lock_timeout: int = 60
    force: bool = False
    default_release: str | None = None
    install_recommends: bool | None = None
    allow_unauthenticated: bool = False
    allow_downgrade: bool = False
    allow_change_held_packages: bool = False
    fail_on_autoremove: bool = False
    autoremove: bool = False
    only_upgrade: bool = False
    purge: bool = False

    def flags(self) -> list[str]:
        """``-o``/``--allow-*`` arguments, in the order Ansible gives them."""
        argv: list[str] = []
        for option in filter(None, (o.strip() for o in self.dpkg_options.split(","))):
            argv += ["-o", f"Dpkg::Options::=--{option}"]
        argv += ["-o", f"DPkg::Lock::Timeout={self.lock_timeout}"]
        if self.default_release:
            argv += ["-t", self.default_release]
        if self.install_recommends is not None:
            argv += ["-o", f"APT::Install-Recommends={'yes' if self.install_recommends else 'no'}"]
        wanted = {
            "--allow-unauthenticated": self.allow_unauthenticated or self.force,
            "--allow-downgrades": self.allow_downgrade or self.force,
            "--allow-change-held-packages": self.allow_change_held_packages or self.force,
            "--allow-remove-essential": self.force,
            "--no-remove": self.fail_on_autoremove,
        }
        argv += [flag for flag, on in wanted.items() if on]
        return argv


def apt_get(
    options: AptOptions, command: Sequence[str], *, simulate: bool, auto_remove: bool = False
) -> list[str]:
    """One apt-get command line: never prompts (``-y``), simulated (``-s``) in check mode."""
    argv = ["apt-get", "-y", "-q", *options.flags()]
    if simulate:
        argv.append("-s")
    if auto_remove and options.autoremove:
        argv.append("--auto-remove")
    return [*argv, *command]


def removing(options: AptOptions) -> list[str]:
    """The apt-get command that removes (or purges) packages."""
    return ["remove", "--purge"] if options.purge else ["remove"]


def dpkg_status(ctx: StepContext, names: Sequence[str]) -> dict[str, Installed]:
    """What dpkg knows of ``names`` (names it does not know are left out)."""
    if not names:
        return {}
    result = host_run(ctx, ["dpkg-query", "-W", "-f", DPKG_FORMAT, "--", *names])
    # rc 1 means "some names are unknown to dpkg": a normal answer here.
    if result.timed_out or result.rc > 1:
        raise StepFailed(f"dpkg-query failed: {result.stderr.strip() or result.rc}")
    return parse_dpkg_query(result.stdout)


def versions_available(ctx: StepContext, names: Sequence[str]) -> dict[str, list[str]]:
    """The versions apt could install of each of ``names``, best first."""
    if not names:
        return {}
    result = host_run(ctx, ["apt-cache", "madison", *names])
    if result.timed_out:
        raise StepFailed("apt-cache madison timed out")
    return parse_madison(result.stdout)


def cache_age(ctx: StepContext) -> tuple[int, int]:
    """(when the package lists were last updated, now), both on the host's clock."""
    result = run_or_raise(ctx, ["/bin/sh", "-c", _CACHE_TIME], "reading the apt cache's age")
    return _stamps(result.stdout)


def _stamps(text: str) -> tuple[int, int]:
    stamps = [int(word) for word in text.split() if word.isdigit()]
    if len(stamps) < 2:
        raise StepFailed(f"cannot read the apt cache's age: {text.strip()!r}")
    return stamps[0], stamps[-1]


def update_cache(ctx: StepContext, args: Mapping[str, Any]) -> tuple[bool, int]:
    """``apt-get update`` unless the lists are younger than ``cache_valid_time``.

    Returns (cache_updated, cache_update_time) as Ansible does: updated means the
    lists' time changed (always, in check mode, where nothing is run).
    """
    updated_at, now = cache_age(ctx)
    valid_for = int(args.get("cache_valid_time") or 0)
    if valid_for and updated_at + valid_for >= now:
        return False, updated_at
    if ctx.check_mode:
        return True, updated_at
    attempts = max(1, int(args.get("update_cache_retries", 5)))
    max_delay = float(args.get("update_cache_retry_max_delay", 12))
    failure = ""
    for attempt in range(attempts):
        # The lists' new time comes back with the update: one round trip, not two.
        result = host_run(ctx, ["/bin/sh", "-c", _UPDATE])
        if result.rc == 0 and not result.timed_out:
            break
        failure = "timed out" if result.timed_out else result.stderr.strip() or f"rc={result.rc}"
        if attempt + 1 < attempts:
            ctx.log(f"apt-get update failed ({failure}), retrying")
            time.sleep(min(2**attempt, max_delay))
    else:
        raise StepFailed(f"Failed to update apt cache after {attempts} retries: {failure}")
    after = _stamps(result.stdout.rpartition(_CACHE_MARK)[2])[0]
    return after != updated_at, after


_POLICY = "/usr/sbin/policy-rc.d"


@contextmanager
def policy_rc_d(ctx: StepContext, code: int | None) -> Iterator[None]:
    """/usr/sbin/policy-rc.d exiting ``code`` while the block runs, the old one restored after."""
    if code is None or ctx.check_mode:
        yield
        return
    backup = f"{_POLICY}.corral-saved"
    existed = ctx.conn.stat(_POLICY, become=ctx.become, timeout=ctx.timeout) is not None
    if existed:
        run_or_raise(ctx, ["mv", "-f", "--", _POLICY, backup], "saving /usr/sbin/policy-rc.d")
    ctx.conn.put(
        f"#!/bin/sh\nexit {code}\n".encode(),
        _POLICY,
        mode=0o755,
        become=ctx.become,
        timeout=ctx.timeout,
    )
    try:
        yield
    finally:
        if existed:
            run_or_raise(ctx, ["mv", "-f", "--", backup, _POLICY], "restoring policy-rc.d")
        else:
            run_or_raise(ctx, ["rm", "-f", "--", _POLICY], "removing /usr/sbin/policy-rc.d")


@contextmanager
def deb_on_host(ctx: StepContext, deb: str) -> Iterator[str]:
    """The path on the host of the ``deb`` file, uploading or downloading it for the block."""
    payload: bytes | None = None
    if "://" in deb:
        payload = download(deb, "deb")
    else:
        found = ctx.conn.stat(deb, become=ctx.become, timeout=ctx.timeout)
        if found is not None and found.is_file:
            yield deb if deb.startswith("/") else f"./{deb}"
            return
        local = ctx.find_file(deb)
        if local is None or not local.is_file():
            raise StepFailed(f"deb: no file {deb!r} on the host, nor on the controller")
        payload = local.read_bytes()
    made = run_or_raise(ctx, ["mktemp", "-d"], "making a temporary directory for the .deb")
    scratch = made.stdout.strip()
    name = posixpath.basename(deb.split("?", 1)[0].rstrip("/")) or "package.deb"
    if not name.endswith(".deb"):
        name += ".deb"
    path = posixpath.join(scratch, name)
    try:
        ctx.conn.put(payload, path, mode=0o644, become=ctx.become, timeout=ctx.timeout)
        # apt (as the _apt user) reads the file while it installs it.
        host_run(ctx, ["chmod", "755", scratch])
        yield path
    finally:
        host_run(ctx, ["rm", "-rf", "--", scratch])


def deb_fields(ctx: StepContext, path: str) -> dict[str, str]:
    """The Package, Version and Architecture fields of a .deb file on the host."""
    result = host_run(ctx, ["dpkg-deb", "-f", path, "Package", "Version", "Architecture"])
    if result.rc != 0 or result.timed_out:
        raise StepFailed(f"deb: {path} is not a readable .deb file: {result.stderr.strip()}")
    fields: dict[str, str] = {}
    for line in result.stdout.splitlines():
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    return fields
