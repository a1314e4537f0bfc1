"""What a response becomes: Ansible's result shape, judged against the expected statuses."""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from corral import StepResult
from corral_plugins.http.request import mask_url

if TYPE_CHECKING:
    import httpx


# Ansible's test for a JSON body: the media subtype (or its +suffix) is one of these.
_JSON_SUBTYPES = ("json", "javascript")


# Result keys that a response header of the same name must not overwrite.
_RESULT_KEYS = frozenset(
    {"changed", "failed", "msg", "status", "url", "redirected", "elapsed", "headers", "json",
     "content", "cookies", "cookies_string", "path", "checksum", "size"}
)  # fmt: skip


@dataclass(frozen=True)
class Call:
    """What the outcome of one request is judged against."""

    method: str
    shown: str  # the URL with its password masked
    expected: list[int]
    timeout: float
    started: float = field(default_factory=time.monotonic)

    def failed(self, reason: str) -> StepResult:
        """Ansible's result for a request that got no response: status -1."""
        return StepResult(
            failed=True,
            msg=f"Status code was -1 and not {self.expected}: Request failed: {reason}",
            data={
                "status": -1,
                "url": self.shown,
                "redirected": False,
                "elapsed": int(time.monotonic() - self.started),
            },
        )


def response_data(response: httpx.Response, call: Call) -> dict[str, Any]:
    headers = {name: response.headers[name] for name in response.headers.keys()}  # noqa: SIM118 - Headers.keys() merges repeats
    final = mask_url(str(response.url))
    data: dict[str, Any] = {
        name.replace("-", "_"): value
        for name, value in headers.items()
        if name.replace("-", "_") not in _RESULT_KEYS
    }
    if "location" in data:
        data["location"] = mask_url(str(response.url.join(data["location"])))
    data.update(
        status=response.status_code,
        url=final,
        redirected=bool(response.history),
        elapsed=int(time.monotonic() - call.started),
        headers=headers,
        cookies=dict(response.cookies),
        cookies_string="; ".join(f"{k}={v}" for k, v in response.cookies.items()),
    )
    if response.is_stream_consumed and _is_json(response):
        with contextlib.suppress(ValueError):
            data["json"] = json.loads(response.text)
    return data


def _is_json(response: httpx.Response) -> bool:
    kind = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    subtype = kind.partition("/")[2]
    return (subtype.partition("+")[2] or subtype) in _JSON_SUBTYPES


def judge(
    response: httpx.Response, call: Call, data: dict[str, Any], *, return_content: bool
) -> StepResult:
    status = response.status_code
    if response.is_stream_consumed:
        size = f"{len(response.content)} bytes"
        if return_content:
            data["content"] = response.text
    else:
        size = f"{response.headers.get('content-length', 'unknown')} bytes"
    info = f"HTTP Error {status}: {response.reason_phrase}" if status >= 400 else f"OK ({size})"
    if status not in call.expected:
        return StepResult(
            failed=True, msg=f"Status code was {status} and not {call.expected}: {info}", data=data
        )
    return StepResult(msg=info, data=data)
