"""The ``get_url`` step: download a file to the host, with checksum, mode and ``force``.

Unlike Ansible, which downloads on the managed host, the request leaves from the
controller (httpx): the body is streamed to a temporary file here, checked against
``checksum``, compared with the host's file by sha1 and written with ``conn.put`` only
when it differs. So a host without network access (or Python) still gets the file, and a
checksum mismatch never leaves anything at ``dest``. With ``force: false`` (the default) an
existing ``dest`` is kept without sending any request; with a ``checksum`` it is kept when
it matches, else downloaded again.
"""

from __future__ import annotations

import os
import posixpath
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from corral import FileStat, StepContext, StepFailed, StepResult, __version__
from corral.secrets import reveal
from corral_plugins.fileops.hostfs import path_info
from corral_plugins.files.attributes import ensure_attributes, parse_mode, run_or_fail
from corral_plugins.http.checksums import (
    Checksum,
    file_digest,
    host_digest,
    normalized,
    parse_checksum,
    parse_digest_lines,
)
from corral_plugins.http.download import file_name
from corral_plugins.http.get_url_schema import GET_URL_TIMEOUT
from corral_plugins.http.request import auth_headers, describe_error, mask_url, step_tls

if TYPE_CHECKING:
    import httpx

__all__ = ["get_url"]


class DownloadFailed(StepFailed):
    """Ends the step with ``failed`` and this message (plus the extra result keys)."""

    def __init__(self, msg: str, **data: Any) -> None:
        super().__init__(msg)
        self.data = data


def get_url(ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    """Download ``url`` to ``dest`` on the host, only when needed."""
    import httpx

    url = str(reveal(args["url"]))
    data: dict[str, Any] = {
        "dest": str(args["dest"]),
        "url": mask_url(url),
        "checksum_dest": None,
        "checksum_src": None,
        "elapsed": 0,
    }
    timeout = float(args.get("timeout") or GET_URL_TIMEOUT)
    try:
        checksum = parse_checksum(str(args["checksum"])) if args.get("checksum") else None
        tls = step_tls(ctx, args)
    except (OSError, ValueError) as exc:
        return StepResult(failed=True, msg=str(exc), data=data)
    if args.get("use_gssapi"):
        return StepResult(failed=True, msg="argument 'use_gssapi': not supported", data=data)
    agent = str(args.get("http_agent") or f"corral/{__version__}")
    headers = {str(k): str(v) for k, v in (args.get("headers") or {}).items()}
    headers.update(
        auth_headers(
            {
                "url_username": args.get("url_username", args.get("username")),
                "url_password": args.get("url_password", args.get("password")),
            }
        )
    )
    started = time.monotonic()
    with (
        httpx.Client(
            headers={"User-Agent": agent, **headers},
            verify=tls,
            timeout=timeout,
            follow_redirects=True,
            trust_env=bool(args.get("use_proxy", True)),
        ) as client,
        tempfile.TemporaryDirectory(prefix="corral-get-url-") as tmp,
    ):
        try:
            return _run(ctx, args, client, Path(tmp), checksum, data)
        except DownloadFailed as exc:
            data.update(exc.data)
            return StepResult(failed=True, msg=str(exc), data=data)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            return StepResult(failed=True, msg=describe_error(exc, timeout), data=data)
        finally:
            data["elapsed"] = int(time.monotonic() - started)


def _run(
    ctx: StepContext,
    args: Mapping[str, Any],
    client: httpx.Client,
    tmp: Path,
    checksum: Checksum | None,
    data: dict[str, Any],
) -> StepResult:
    url = str(reveal(args["url"]))
    if checksum is not None and checksum.is_url:
        checksum = _checksum_from_file(ctx, client, tmp, checksum, url)
    dest = str(args["dest"])
    current = ctx.conn.stat(dest, become=ctx.become, timeout=ctx.timeout)
    dest_is_dir = current is not None and current.is_dir
    if current is not None and not dest_is_dir:
        matches = checksum is None or host_digest(ctx, dest, checksum.algorithm) == checksum.value
        if not args.get("force", False) and matches:
            return _kept(ctx, args, dest, current, data)
    local = tmp / "body"
    response = _fetch(ctx, client, url, local, raw=args.get("decompress") is False)
    if dest_is_dir:
        dest = posixpath.join(dest, file_name(response))
        data["dest"] = dest
    checksum_src = file_digest(local, "sha1")
    data["checksum_src"] = checksum_src
    current = ctx.conn.stat(dest, checksum=True, become=ctx.become, timeout=ctx.timeout)
    if current is not None:
        data["checksum_dest"] = current.checksum
    else:
        parent = posixpath.dirname(dest) or "."
        if ctx.conn.stat(parent, become=ctx.become, timeout=ctx.timeout) is None:
            raise DownloadFailed(f"Destination {parent} does not exist")
    if checksum is not None:
        actual = file_digest(local, checksum.algorithm)
        if actual != checksum.value:
            raise DownloadFailed(
                f"The checksum for {dest} did not match {checksum.value}; it was {actual}."
            )
    length = response.headers.get("content-length", "unknown")
    data.update(msg=f"OK ({length} bytes)", status_code=response.status_code)
    differs = current is None or current.checksum != checksum_src
    if ctx.check_mode:
        return StepResult(changed=differs, msg=data.pop("msg"), data=data)
    if differs:
        if args.get("backup") and current is not None and current.is_file:
            data["backup_file"] = _backup(ctx, dest)
        ctx.conn.put(
            local, dest, mode=parse_mode(args.get("mode")), become=ctx.become, timeout=ctx.timeout
        )
    fixed = ensure_attributes(ctx, args, dest)
    data["md5sum"] = file_digest(local, "md5")
    data.update(path_info(ctx, dest))
    return StepResult(changed=differs or bool(fixed), msg=data.pop("msg"), data=data)


def _fetch(
    ctx: StepContext, client: httpx.Client, url: str, local: Path, *, raw: bool = False
) -> httpx.Response:
    """GET ``url`` into the local file ``local`` (``raw``: not decoded); only 200 will do."""
    with client.stream("GET", url) as response:
        if response.status_code != 200:
            raise DownloadFailed(
                "Request failed",
                status_code=response.status_code,
                response=f"HTTP Error {response.status_code}: {response.reason_phrase}",
            )
        with local.open("wb") as out:
            for chunk in response.iter_raw() if raw else response.iter_bytes():
                if ctx.cancelled.is_set():
                    raise DownloadFailed("download cancelled")
                out.write(chunk)
    return response


def _checksum_from_file(
    ctx: StepContext, client: httpx.Client, tmp: Path, checksum: Checksum, url: str
) -> Checksum:
    """The digest for ``url``'s file name, read from the checksum file at ``checksum.value``."""
    local = tmp / "checksums"
    _fetch(ctx, client, checksum.value, local)
    lines = [line.rstrip("\n") for line in local.read_text(errors="replace").splitlines()]
    filename = posixpath.basename(unquote(urlsplit(url).path)) or "index.html"
    for digest, name in parse_digest_lines(filename, lines):
        if name == filename:
            return normalized(Checksum(checksum.algorithm, digest))
    raise DownloadFailed(
        f"Unable to find a checksum for file '{filename}' in '{mask_url(checksum.value)}'"
    )


def _kept(
    ctx: StepContext,
    args: Mapping[str, Any],
    dest: str,
    current: FileStat,
    data: dict[str, Any],
) -> StepResult:
    """``dest`` stays: only its mode, owner and group may be fixed."""
    fixed = ensure_attributes(ctx, args, dest, current)
    data.update(path_info(ctx, dest))
    msg = "file already exists but file attributes changed" if fixed else "file already exists"
    return StepResult(changed=bool(fixed), msg=msg, data=data)


def _backup(ctx: StepContext, dest: str) -> str:
    backup = f"{dest}.{os.getpid()}.{time.strftime('%Y-%m-%d@%H:%M:%S')}~"
    run_or_fail(ctx, ["cp", "-p", "--", dest, backup])
    return backup
