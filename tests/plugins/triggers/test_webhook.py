"""The ``webhook`` trigger: each delivery judged as the server will have it judged.

The receiver comes from the registered trigger type (as the server gets it), its secret
from an environment; deliveries are signed with real HMAC-SHA256, as GitHub and
``openssl dgst`` sign them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

import pytest

from corral import HookAnswer, HookRequest, Receiver
from corral.plugins import build_registry, make_plugin_manager
from corral.testing import CorralProject

SECRET = "It's a Secret to Everybody"
ENV = {"DEPLOY_HOOK_SECRET": SECRET}
PUSH = {"ref": "refs/heads/main", "after": "0123456789abcdef0123", "pusher": {"name": "ana"}}


def receiver(args: Mapping[str, Any], environ: Mapping[str, str] = ENV) -> Receiver:
    webhook = build_registry(make_plugin_manager({})).triggers["webhook"]
    assert webhook.receiver is not None
    assert webhook.path is not None
    assert webhook.path(args) == args["path"]
    return webhook.receiver(args, environ)  # type: ignore[call-arg]


def github(
    body: bytes, *, event: str = "push", delivery: str = "d-1", secret: str = SECRET
) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {
        "X-Hub-Signature-256": f"sha256={digest}",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery,
    }


def generic(body: bytes, stamp: float, *, secret: str = SECRET) -> dict[str, str]:
    signed = f"{int(stamp)}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return {"X-Corral-Timestamp": str(int(stamp)), "X-Corral-Signature": f"sha256={digest}"}


def deliver(
    judge: Receiver, body: bytes, headers: Mapping[str, str], at: float | None = None
) -> HookAnswer:
    lowered = {k.lower(): v for k, v in headers.items()}
    return judge(HookRequest("/hooks/deploy", lowered, body, time.time() if at is None else at))


GITHUB = {"path": "/hooks/deploy", "secret_env": "DEPLOY_HOOK_SECRET", "signature": "github"}
GENERIC = {"path": "/hooks/deploy", "secret_env": "DEPLOY_HOOK_SECRET"}


def test_a_github_delivery_is_accepted_with_its_params() -> None:
    judge = receiver(
        {
            **GITHUB,
            "params": {
                "ref": "{{ payload.ref }}",
                "sha": "{{ payload.after[:7] }}",
                "who": "{{ payload.pusher.name }} via {{ event }}",
                "tag": "{{ payload.tag }}",  # not in the payload: left out
                "env": "{{ payload.env | default('staging') }}",
            },
        }
    )
    body = json.dumps(PUSH).encode()
    answer = deliver(judge, body, github(body, delivery="72d3162e"))
    assert answer.status == 202
    assert answer.delivery == "72d3162e"
    assert answer.payload == PUSH
    assert dict(answer.params) == {
        "ref": "refs/heads/main",
        "sha": "0123456",
        "who": "ana via push",
        "env": "staging",
    }


def test_a_generic_delivery_is_accepted_and_keeps_json_types() -> None:
    judge = receiver(
        {**GENERIC, "params": {"count": "{{ payload.count }}", "v": "{{ payload.v }}"}}
    )
    body = b'{"count": 3, "v": "1.10"}'
    now = time.time()
    answer = deliver(judge, body, {**generic(body, now), "X-Corral-Delivery": "job-9"}, now)
    assert (answer.status, answer.delivery, dict(answer.params)) == (
        202,
        "job-9",
        {"count": 3, "v": "1.10"},
    )
    # Without a delivery header, the body's sha256 is the delivery id.
    answer = deliver(judge, body, generic(body, now), now)
    assert answer.delivery == hashlib.sha256(body).hexdigest()


@pytest.mark.parametrize("args", [GITHUB, GENERIC], ids=["github", "generic"])
def test_a_missing_signature_is_401(args: Mapping[str, Any]) -> None:
    answer = deliver(receiver(args), b"{}", {"X-Corral-Timestamp": str(int(time.time()))})
    assert answer.status == 401
    assert "missing" in answer.reason
    assert "\n" not in answer.reason


def test_a_wrong_signature_is_401() -> None:
    body = json.dumps(PUSH).encode()
    judge = receiver(GITHUB)
    assert deliver(judge, body, github(body, secret="guess")).status == 401
    tampered = body.replace(b"main", b"prod")
    answer = deliver(judge, tampered, github(body))
    assert answer.status == 401
    assert answer.reason == "X-Hub-Signature-256 does not match: check the secret both sides use"
    now = time.time()
    generic_judge = receiver(GENERIC)
    headers = generic(body, now)
    headers["X-Corral-Timestamp"] = str(int(now) + 1)  # the timestamp is signed too
    assert deliver(generic_judge, body, headers, now).status == 401


def test_a_stale_or_future_timestamp_is_401() -> None:
    judge = receiver({**GENERIC, "replay_window": "1m"})
    body = b'{"a": 1}'
    now = float(int(time.time()))  # whole seconds, as the header carries them
    old = deliver(judge, body, generic(body, now - 61), now)
    assert old.status == 401
    assert "61s old, outside the replay window (60s)" in old.reason
    assert deliver(judge, body, generic(body, now + 120), now).status == 401
    assert deliver(judge, body, generic(body, now - 59), now).status == 202
    no_stamp = generic(body, now)
    del no_stamp["X-Corral-Timestamp"]
    assert deliver(judge, body, no_stamp, now).status == 401


def test_an_oversized_body_is_413_before_anything_else() -> None:
    judge = receiver({**GITHUB, "max_body": 1000})
    assert getattr(judge, "max_body", None) == 1000  # the server may refuse it unread
    big = json.dumps({"blob": "x" * 1000}).encode()
    answer = deliver(judge, big, {})
    assert (answer.status, answer.reason) == (413, "body over 1000 bytes (max_body)")
    small = json.dumps({"blob": "x" * 900}).encode()
    assert deliver(judge, small, github(small)).status == 202


def test_a_body_that_is_not_json_is_400_and_an_empty_one_is_accepted() -> None:
    judge = receiver({**GITHUB, "params": {"ref": "{{ payload.ref }}"}})
    form = b"payload=%7B%7D"
    answer = deliver(judge, form, github(form))
    assert answer.status == 400
    assert answer.reason.startswith("body is not JSON")
    answer = deliver(judge, b"", github(b""))
    assert (answer.status, answer.payload, dict(answer.params)) == (202, None, {})


def test_the_rate_limit_answers_429_with_retry_after_and_refills() -> None:
    judge = receiver({**GITHUB, "rate_limit": "3/min"})
    body = b"{}"
    start = 1_800_000_000.0
    answers = [deliver(judge, body, github(body), start + i * 0.1) for i in range(4)]
    assert [a.status for a in answers] == [202, 202, 202, 429]
    assert answers[3].headers == {"Retry-After": "20"}  # a token every 20 s
    assert deliver(judge, body, github(body), start + 21).status == 202
    # Forged deliveries are refused before the bucket: they use up nothing.
    for _ in range(10):
        assert deliver(judge, body, github(body, secret="forged"), start + 41).status == 401
    assert deliver(judge, body, github(body), start + 41.5).status == 202


def test_github_events_filter_and_ping() -> None:
    body = json.dumps(PUSH).encode()
    judge = receiver({**GITHUB, "events": ["push"]})
    assert deliver(judge, body, github(body, event="push")).status == 202
    ignored = deliver(judge, body, github(body, event="issues"))
    assert (ignored.status, ignored.reason) == (204, "event 'issues' is not in events: ignored")
    pinged = deliver(receiver(GITHUB), b'{"zen": "x"}', github(b'{"zen": "x"}', event="ping"))
    assert pinged.status == 204


def test_insecure_no_signature_accepts_unsigned_deliveries() -> None:
    judge = receiver({"path": "/hooks/open", "insecure_no_signature": True}, {})
    answer = deliver(judge, b'{"a": 1}', {})
    assert (answer.status, answer.payload) == (202, {"a": 1})


def test_a_payload_value_holding_a_template_is_refused() -> None:
    judge = receiver({**GITHUB, "params": {"message": "{{ payload.head_commit.message }}"}})
    body = json.dumps({"head_commit": {"message": "fix {{ lookup('pipe', 'id') }}"}}).encode()
    answer = deliver(judge, body, github(body))
    assert answer.status == 422
    assert "template markers" in answer.reason


def test_a_template_failing_on_the_payload_is_400() -> None:
    judge = receiver({**GITHUB, "params": {"next": "{{ payload.n + 1 }}"}})
    body = b'{"n": "seven"}'
    answer = deliver(judge, body, github(body))
    assert answer.status == 400
    assert answer.reason.startswith("params.next: ")


def test_arming_without_the_secret_in_the_environment_names_it() -> None:
    with pytest.raises(ValueError, match="secret_env: the environment variable DEPLOY_HOOK_SECRET"):
        receiver(GITHUB, {})


BAD = [
    ("{path: hooks/deploy, secret_env: K}", "path: 'hooks/deploy' is not a URL path"),
    ("{path: /hooks/../x, secret_env: K}", "is not a URL path"),
    ("{path: /, secret_env: K}", "path: '/' is not a URL path"),
    ("{path: /api/v1/runs, secret_env: K}", "path: /api/v1/runs is the server's own"),
    ("{path: /hooks/a}", "secret_env: required"),
    ("{path: /hooks/a, secret_env: 'hunter2!'}", "is not an environment variable name"),
    ("{path: /hooks/a, secret_env: K, rate_limit: 5/week}", "rate_limit: '5/week' is not a rate"),
    ("{path: /hooks/a, secret_env: K, replay_window: soon}", "replay_window: 'soon'"),
    ("{path: /hooks/a, secret_env: K, params: {ref: '{{ payload. }}'}}", "params.ref: "),
    ("{path: /hooks/a, secret_env: K, signature: gitlab}", "'gitlab' is not one of"),
]


@pytest.mark.parametrize(("entry", "message"), BAD, ids=[m for _, m in BAD])
def test_bad_arguments_are_refused_when_the_playbook_loads(
    corral_project: CorralProject, entry: str, message: str
) -> None:
    corral_project.write("inventory.ini", "localhost ansible_connection=local\n")
    corral_project.write(
        "deploy.yml",
        "- hosts: localhost\n  gather_facts: false\n  triggers:\n"
        f"    - webhook: {entry}\n  tasks:\n    - debug: {{msg: hi}}\n",
    )
    result = corral_project.run_subprocess("check", "deploy.yml", "-i", "inventory.ini")
    assert result.exit_code == 4
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_check_lists_a_valid_webhook(corral_project: CorralProject) -> None:
    corral_project.write("inventory.ini", "localhost ansible_connection=local\n")
    corral_project.write(
        "deploy.yml",
        "- hosts: localhost\n  gather_facts: false\n  triggers:\n"
        "    - webhook: {path: /hooks/deploy, secret_env: K, params: {ref: '{{ payload.ref }}'}}\n"
        "  tasks:\n    - debug: {msg: hi}\n",
    )
    result = corral_project.run("check", "deploy.yml", "-i", "inventory.ini")
    assert result.exit_code == 0, result.stderr
    assert "trigger: webhook (path=/hooks/deploy" in result.stdout
    assert "next on event" in result.stdout


def test_the_docs_signing_commands_make_deliveries_the_receiver_accepts() -> None:
    """The openssl and curl lines of docs/triggers.md, run with a curl that hands its
    headers and body to the receiver instead of a server."""
    import re
    import subprocess
    from pathlib import Path

    page = (Path(__file__).parents[3] / "docs" / "triggers.md").read_text()
    section = page[page.index("## webhook") : page.index("## Without a server")]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.DOTALL)
    assert len(blocks) == 2
    shim = "curl() { for arg in \"$@\"; do printf '%s\\0' \"$arg\"; done; printf 'END\\0'; }\n"
    out = subprocess.run(
        ["bash", "-euc", shim + "\n".join(blocks)], capture_output=True, check=True
    ).stdout.decode()
    calls = [call.split("\0") for call in out.split("END\0") if call]
    assert len(calls) == 2
    secret = "the shared secret"  # as the docs export it
    for args, kind in zip(calls, ("generic", "github"), strict=True):
        headers = dict(args[i + 1].split(": ", 1) for i, a in enumerate(args) if a == "-H")
        body = args[args.index("--data-binary") + 1].encode()
        judge = receiver({**GENERIC, "signature": kind}, {"DEPLOY_HOOK_SECRET": secret})
        answer = deliver(judge, body, headers)
        assert (answer.status, answer.payload) == (202, {"ref": "refs/heads/main"}), answer
