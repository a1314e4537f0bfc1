"""The ``rpm_key`` step: a GPG key in the rpm database, as Ansible's ``rpm_key``.

``key`` is a URL (fetched by the controller, as the other package steps fetch keys, and
put in a temporary file on the host), a key id (``0x`` and 8 or more hex digits: enough
to remove a key or to see it is there) or a file on the host. The key's id is read with
``gpg`` on the host; it is imported with ``rpm --import`` unless rpm has it, and removed
with ``rpm --erase --allmatches gpg-pubkey-ID``. ``fingerprint`` refuses a key file
whose fingerprints do not include those given. Needs ``rpm`` and ``gpg`` on the host.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from corral import StepContext, StepFailed, StepResult
from corral_plugins.packages.common import download, host_run, run_or_raise

__all__ = ["rpm_key"]

_GPG = ["--no-tty", "--batch", "--with-colons", "--fixed-list-mode"]
_ARMOR = re.compile(
    rb"-----BEGIN PGP PUBLIC KEY BLOCK-----.*?-----END PGP PUBLIC KEY BLOCK-----", re.S
)


def rpm_key(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Import or remove ``key``."""
    fetched: list[str] = []
    try:
        gpg = _tool(ctx)
        keyfile, keyid = _resolve(ctx, gpg, args["key"], fetched)
        imported = _imported(ctx, gpg, keyid)
        if args.get("state", "present") == "absent":
            if imported and not ctx.check_mode:
                erase = ["rpm", "--erase", "--allmatches", f"gpg-pubkey-{keyid[-8:].lower()}"]
                run_or_raise(ctx, erase)
            return StepResult(changed=imported)
        if imported:
            return StepResult()
        if not keyfile:
            raise StepFailed("When importing a key, a valid file must be given")
        _check_fingerprints(ctx, gpg, keyfile, args.get("fingerprint"))
        if not ctx.check_mode:
            run_or_raise(ctx, ["rpm", "--import", keyfile])
        return StepResult(changed=True)
    except StepFailed as exc:
        return StepResult(failed=True, msg=exc.message)
    finally:
        for path in fetched:
            host_run(ctx, ["rm", "-f", "--", path])


def _resolve(ctx: StepContext, gpg: str, key: str, fetched: list[str]) -> tuple[str, str]:
    """(the key file on the host, or "" for a bare id; the key id, normalized)."""
    if "://" in key:
        keyfile = _fetched(ctx, key)
        fetched.append(keyfile)
        return keyfile, _normalized(_keyid(ctx, gpg, keyfile))
    if re.match("(0x)?[0-9a-f]{8}", key, flags=re.IGNORECASE):  # Ansible's test, as it is
        return "", _normalized(key)
    found = ctx.conn.stat(key, become=ctx.become, timeout=ctx.timeout)
    if found is None or not found.is_file:
        raise StepFailed(f"Not a valid key {key}")
    return key, _normalized(_keyid(ctx, gpg, key))


def _check_fingerprints(ctx: StepContext, gpg: str, keyfile: str, given: Any) -> None:
    wanted = {f.replace(" ", "").upper() for f in _as_list(given)}
    if not wanted:
        return
    found = _fingerprints(ctx, gpg, keyfile)
    if not wanted <= found:
        raise StepFailed(
            f"The specified fingerprint, '{wanted}', does not match any key fingerprints "
            f"in '{found}'"
        )


def _tool(ctx: StepContext) -> str:
    found = host_run(ctx, ["/bin/sh", "-c", "command -v rpm >/dev/null && command -v gpg gpg2"])
    lines = found.stdout.split()
    if found.rc != 0 and not lines:
        raise StepFailed("rpm_key needs rpm and gpg (or gpg2) on the host")
    return lines[0]


def _fetched(ctx: StepContext, url: str) -> str:
    payload = download(url, "key")
    if not _ARMOR.search(payload):
        raise StepFailed(f"Not a public key: {url}")
    made = run_or_raise(ctx, ["mktemp"], "making a temporary file for the key")
    path = made.stdout.strip()
    ctx.conn.put(payload, path, mode=0o600, become=ctx.become, timeout=ctx.timeout)
    return path


def _keyid(ctx: StepContext, gpg: str, keyfile: str) -> str:
    listed = run_or_raise(ctx, [gpg, *_GPG, keyfile], f"reading the key {keyfile} with gpg")
    for line in listed.stdout.splitlines():
        if line.strip().startswith("pub:"):
            return line.strip().split(":")[4]
    raise StepFailed("Unexpected gpg output")


def _fingerprints(ctx: StepContext, gpg: str, keyfile: str) -> set[str]:
    argv = [gpg, *_GPG, "--import", "--import-options", "show-only", "--dry-run", keyfile]
    listed = run_or_raise(ctx, argv, f"reading the fingerprints of {keyfile} with gpg")
    found = {
        line.strip().split(":")[9]
        for line in listed.stdout.splitlines()
        if line.strip().startswith("fpr:")
    }
    if not found:
        raise StepFailed("Unexpected gpg output")
    return found


def _imported(ctx: StepContext, gpg: str, keyid: str) -> bool:
    """Whether rpm's database holds a key whose id ends with ``keyid``."""
    if host_run(ctx, ["rpm", "-q", "gpg-pubkey"]).rc != 0:
        return False  # no key at all
    script = 'rpm -q gpg-pubkey --qf "%{description}" | "$@" -'
    listed = run_or_raise(ctx, ["/bin/sh", "-c", script, "rpm_key", gpg, *_GPG], "listing keys")
    return any(
        keyid in line.split(":")[4] for line in listed.stdout.splitlines() if line.count(":") >= 4
    )


def _normalized(keyid: str) -> str:
    """As Ansible: no ``0x``, no surrounding space, upper case."""
    found = keyid.strip().upper()
    return found[2:] if found.startswith("0X") else found


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]
