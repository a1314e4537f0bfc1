"""The ``apt_key`` step: a key in apt's trusted keyring, with ``apt-key``, as Ansible's.

``apt-key`` is deprecated (Debian 12 has it, later releases do not: docs/steps/apt_key.md
says what to use instead), but many roles still call it. The key comes from ``data``
(armored text), ``url`` (fetched by the controller), ``file`` (on the host) or
``keyserver`` (``apt-key adv --recv``, on the host); its id from ``id`` or from the key
itself, read with ``gpg``. The keys apt trusts are listed before and after a change, and
the step is done only when the key is (or no longer is) among them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from corral import StepContext, StepFailed, StepResult
from corral_plugins.packages.common import download, host_run

__all__ = ["apt_key"]

_NOT_ADDED = (
    "apt-key did not return an error, but {} (check that the id is correct and *not* a subkey)"
)


def apt_key(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Add or remove a key of apt's keyring."""
    data: dict[str, Any] = {}
    try:
        _needs(ctx)
        key_id, payload = _key_id(ctx, args)
        data["id"] = key_id
        try:
            short, fingerprint, key_id = _parse_key_id(key_id or "")
        except ValueError:
            return StepResult(failed=True, msg="Invalid key_id", data=data)
        data.update(short_id=short, fp=fingerprint, key_id=key_id)
        short_format = len(key_id) == 8
        wanted = short if short_format else fingerprint
        keyring = args.get("keyring")
        data["before"] = keys = _keys(ctx, keyring, short_format)
        if args.get("state", "present") == "present":
            changed = wanted not in keys
            if changed and not ctx.check_mode:
                _add(ctx, args, keyring, key_id, payload)
                data["after"] = after = _keys(ctx, keyring, short_format)
                if wanted not in after:
                    raise StepFailed(_NOT_ADDED.format("failed to add the key"))
        else:
            changed = fingerprint in keys
            if changed and not ctx.check_mode:
                _run(
                    ctx,
                    [*_apt_key(keyring), "del", short],
                    f"Unable to remove a key with id {short}",
                )
                data["after"] = after = _keys(ctx, keyring, short_format)
                if fingerprint in after:
                    raise StepFailed(_NOT_ADDED.format("the key was not removed"))
    except StepFailed as exc:
        return StepResult(failed=True, msg=exc.message, data=data)
    return StepResult(changed=changed, data=data)


def _needs(ctx: StepContext) -> None:
    found = host_run(ctx, ["/bin/sh", "-c", "command -v apt-key && command -v gpg"])
    if found.rc != 0:
        raise StepFailed(
            "apt_key needs apt-key and gpg on the host. Apt-key has been deprecated: "
            "see the deb822_repository step as an alternative"
        )


def _key_id(ctx: StepContext, args: Mapping[str, Any]) -> tuple[str | None, bytes | None]:
    """The key id (given, or read from the key) and the key's bytes when the host gets them."""
    key_id = args.get("id")
    payload = args["data"].encode() if args.get("data") is not None else None
    if args.get("url") and not key_id:  # given an id, the key is fetched only to add it
        payload = _fetched(args["url"])
    if key_id:
        return str(key_id), payload
    if args.get("keyserver"):
        raise StepFailed("Missing key_id, required with keyserver.")
    if args.get("file"):
        return _id_from(ctx, ["gpg", "--with-colons", args["file"]], None, args["file"]), payload
    if payload is not None:
        return _id_from(ctx, ["gpg", "--with-colons", "-"], payload, "inline data"), payload
    return None, payload


def _id_from(ctx: StepContext, argv: list[str], stdin: bytes | None, what: str) -> str | None:
    listed = host_run(ctx, argv, stdin=stdin)
    if listed.rc != 0:
        raise StepFailed(f"Unable to extract key from '{what}'")
    keys = _parse_keys(listed.stdout)
    return keys[0] if keys else None


def _parse_key_id(key_id: str) -> tuple[str, str, str]:
    """(the id for ``apt-key del``, the one to compare with listed keys, the whole id)."""
    int(key_id, 16)  # ValueError unless hexadecimal (0x allowed, as int() allows it)
    key_id = key_id.upper().removeprefix("0X")
    if len(key_id) not in (8, 16) and len(key_id) <= 16:
        raise ValueError("key_id must be 8, 16, or 16+ hexadecimal characters in length")
    return key_id[-8:], key_id[-16:] if len(key_id) > 16 else key_id, key_id


def _parse_keys(output: str, short_format: bool = False) -> list[str]:
    """The ids of the unexpired keys and subkeys gpg or apt-key listed (Ansible's parsing)."""
    found = []
    for line in output.split("\n"):
        if not line.startswith(("pub", "sub")) or "expired" in line:
            continue
        tokens = line.split()
        try:
            code = tokens[1].split("/")[1]
        except IndexError:
            fields = line.split(":")
            if len(fields) < 5:
                continue
            code = fields[4]
        found.append(code[-8:] if short_format else code)
    return found


def _apt_key(keyring: str | None) -> list[str]:
    return ["apt-key", *(["--keyring", keyring] if keyring else [])]


def _keys(ctx: StepContext, keyring: str | None, short_format: bool) -> list[str]:
    argv = [*_apt_key(keyring), "adv", "--list-public-keys", "--keyid-format=long"]
    listed = _run(ctx, argv, "Unable to list public keys")
    return _parse_keys(listed, short_format)


def _add(
    ctx: StepContext,
    args: Mapping[str, Any],
    keyring: str | None,
    key_id: str,
    payload: bytes | None,
) -> None:
    if args.get("file"):
        _run(
            ctx,
            [*_apt_key(keyring), "add", args["file"]],
            f"Unable to add a key from file {args['file']}",
        )
    elif args.get("keyserver"):
        argv = [*_apt_key(keyring), "adv", "--no-tty", "--keyserver", args["keyserver"]]
        for _ in range(5):  # keyservers fail now and then: Ansible's five tries
            tried = host_run(ctx, [*argv, "--recv", key_id])
            if tried.rc == 0:
                return
        if tried.rc == 2 and "not found on keyserver" in tried.stdout:
            raise StepFailed(f"Key {key_id} not found on keyserver {args['keyserver']}")
        raise StepFailed(f"Error fetching key {key_id} from keyserver: {args['keyserver']}")
    elif payload is not None or args.get("url"):
        data = payload if payload is not None else _fetched(args["url"])
        _run(ctx, [*_apt_key(keyring), "add", "-"], "Unable to add a key from binary data", data)
    else:
        raise StepFailed("give one of data, file, keyserver or url to add a key")


def _fetched(url: str) -> bytes:
    return download(url, f"Failed to download key at {url}")


def _run(ctx: StepContext, argv: list[str], failure: str, stdin: bytes | None = None) -> str:
    result = host_run(ctx, argv, stdin=stdin)
    if result.rc != 0 or result.timed_out:
        detail = result.stderr.strip() or result.stdout.strip() or f"rc={result.rc}"
        raise StepFailed(f"{failure}: {detail}")
    return result.stdout
