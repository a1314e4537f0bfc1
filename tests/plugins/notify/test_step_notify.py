"""``notify.*`` steps and playbook ``notifications:`` against real local servers.

Chat webhooks are local HTTP servers (pytest-httpserver) that record what Slack or
Teams would receive; email goes to aiosmtpd with STARTTLS, SMTPS and AUTH, using
certificates from a CA the tests make (trustme).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import ssl
import time
from email import message_from_bytes, policy
from pathlib import Path

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from pytest_httpserver import HTTPServer

from corral import RunInfo
from corral.engine.options import RunOptions
from corral.playbook.templating.templar import Templar
from corral_plugins import notify

HOSTS = "all:\n  hosts:\n    localhost: {ansible_connection: local}\n"
DOCS = Path(__file__).resolve().parents[3] / "docs" / "steps" / "notify.md"
SMTP_USER, SMTP_PASSWORD = "mailer", "smtp-pass-5521"


# -- servers ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def _http_server():
    # One server per module: stopping one takes half a second (werkzeug's poll interval).
    srv = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def server(_http_server):
    yield _http_server
    _http_server.clear()


@pytest.fixture(scope="module")
def ca():
    return trustme.CA()


@pytest.fixture
def ca_file(ca, tmp_path):
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def hanging_url():
    """A server that accepts connections (the kernel does, from the backlog) and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/slow"


class Mailbox:
    """An aiosmtpd handler that keeps every message it is given."""

    def __init__(self) -> None:
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted"

    def messages(self):
        return [message_from_bytes(e.content, policy=policy.default) for e in self.envelopes]


def _authenticate(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        SMTP_USER.encode(),
        SMTP_PASSWORD.encode(),
    )
    # handled=False on a bad login: otherwise aiosmtpd never answers and the client hangs.
    return AuthResult(success=True) if ok else AuthResult(success=False, handled=False)


def _smtp(ca, **kwargs):
    mailbox = Mailbox()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    kwargs = {"tls_context": context, **kwargs}
    if kwargs.pop("implicit_tls", False):
        kwargs = {"ssl_context": kwargs.pop("tls_context"), **kwargs}
    controller = Controller(mailbox, hostname="127.0.0.1", port=_free_port(), **kwargs)
    controller.start()
    controller.mailbox = mailbox
    return controller


@pytest.fixture
def smtp_starttls(ca):
    controller = _smtp(ca, require_starttls=True, authenticator=_authenticate, auth_required=True)
    yield controller
    controller.stop()


@pytest.fixture
def smtp_ssl(ca):
    # aiosmtpd counts only STARTTLS as TLS for AUTH; this connection is TLS from the start.
    controller = _smtp(
        ca,
        implicit_tls=True,
        authenticator=_authenticate,
        auth_required=True,
        auth_require_tls=False,
    )
    yield controller
    controller.stop()


@pytest.fixture
def smtp_plain(ca):
    controller = _smtp(ca, tls_context=None)
    yield controller
    controller.stop()


# -- running playbooks ------------------------------------------------------------------


@pytest.fixture
def project(corral_project):
    corral_project.write("hosts.yml", HOSTS)
    return corral_project


def run_play(project, play: dict, *args: str):
    """Run one play (a dict, written as JSON, which is YAML) on localhost."""
    play = {"hosts": "localhost", "gather_facts": False, **play}
    project.write("site.yml", json.dumps([play], indent=1))
    result = project.run("run", "site.yml", "-i", "hosts.yml", "--output", "json", *args)
    results = [e["result"] for e in result.json_lines() if e["event"] == "task_result"]
    return result, results


def received(server) -> list[dict]:
    return [request.get_json() for request, _ in server.log]


# -- notify.slack ---------------------------------------------------------------------------


def test_slack_posts_text_and_blocks(project, server):
    server.expect_request("/services/T1/B2/XyZsecret", method="POST").respond_with_data("ok")
    hook = server.url_for("/services/T1/B2/XyZsecret")
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*deployed* v1.2"}}]
    task = {
        "notify.slack": {
            "webhook_url": hook,
            "text": "Deployed {{ 'v1.2' }}",
            "blocks": blocks,
            "icon_emoji": ":rocket:",
        }
    }
    result, results = run_play(project, {"tasks": [task]})
    assert result.exit_code == 0, result.output
    assert received(server) == [
        {"text": "Deployed v1.2", "blocks": blocks, "icon_emoji": ":rocket:"}
    ]
    assert results[0]["changed"] is True
    assert results[0]["status"] == 200
    assert "XyZsecret" not in result.output


def test_slack_error_answer_fails_the_task(project, server):
    server.expect_request("/hook").respond_with_data("invalid_token", status=403)
    task = {"notify.slack": {"webhook_url": server.url_for("/hook"), "text": "hi"}}
    result, results = run_play(project, {"tasks": [task]})
    assert result.exit_code == 2
    assert results[0]["msg"] == "Slack answered HTTP 403: invalid_token"


def test_unreachable_webhook_fails_with_a_reason(project):
    task = {"notify.slack": {"webhook_url": f"http://127.0.0.1:{_free_port()}/x", "text": "hi"}}
    result, results = run_play(project, {"tasks": [task]})
    assert result.exit_code == 2
    assert "Connection refused" in results[0]["msg"]


def test_slow_webhook_times_out(project, hanging_url):
    task = {"notify.slack": {"webhook_url": hanging_url, "text": "hi", "timeout": 0.3}}
    started = time.monotonic()
    result, results = run_play(project, {"tasks": [task]})
    assert time.monotonic() - started < 8  # the 0.3 s given, not the default 10 s
    assert result.exit_code == 2
    assert results[0]["msg"] == "timed out after 0.3s waiting for the server"


def test_check_mode_sends_nothing(project, server):
    task = {"notify.slack": {"webhook_url": server.url_for("/hook"), "text": "hi"}}
    result, results = run_play(project, {"tasks": [task]}, "--check")
    assert result.exit_code == 0, result.output
    assert results[0]["changed"] is True
    assert "not sent" in results[0]["msg"]
    assert not server.log


# -- notify.teams ---------------------------------------------------------------------------


def test_teams_adaptive_card_and_message_card(project, server):
    server.expect_request("/workflow").respond_with_data("", status=202)
    server.expect_request("/connector").respond_with_data("1")
    card_args = {"title": "Backup done", "text": "All **3** databases", "facts": {"size": "12 GB"}}
    tasks = [
        {"notify.teams": {"webhook_url": server.url_for("/workflow"), **card_args}},
        {
            "notify.teams": {
                "webhook_url": server.url_for("/connector"),
                "format": "message_card",
                **card_args,
            }
        },
    ]
    result, _ = run_play(project, {"tasks": tasks})
    assert result.exit_code == 0, result.output
    adaptive, legacy = received(server)
    attachment = adaptive["attachments"][0]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    body = attachment["content"]["body"]
    assert [block["type"] for block in body] == ["TextBlock", "TextBlock", "FactSet"]
    assert body[0]["text"] == "Backup done"
    assert body[2]["facts"] == [{"title": "size", "value": "12 GB"}]
    assert legacy["@type"] == "MessageCard"
    assert legacy["title"] == "Backup done"
    assert legacy["sections"][0]["facts"] == [{"name": "size", "value": "12 GB"}]


def test_teams_connector_error_in_a_200_body_fails(project, server):
    server.expect_request("/connector").respond_with_data(
        "Webhook message delivery failed with error: Microsoft Teams endpoint returned "
        "HTTP error 429"
    )
    task = {
        "notify.teams": {
            "webhook_url": server.url_for("/connector"),
            "text": "x",
            "format": "message_card",
        }
    }
    result, results = run_play(project, {"tasks": [task]})
    assert result.exit_code == 2
    assert "delivery failed" in results[0]["msg"]


# -- notify.webhook ---------------------------------------------------------------------------


def test_webhook_signs_the_exact_body(project, server):
    server.expect_request("/hooks/deploy", method="POST").respond_with_data("", status=204)
    payload = {"service": "web", "version": "1.2.3", "hosts": ["a", "b"]}
    task = {
        "notify.webhook": {
            "url": server.url_for("/hooks/deploy"),
            "payload": payload,
            "secret": "hmac-key-77",
            "headers": {"X-Team": "ops"},
        }
    }
    result, results = run_play(project, {"tasks": [task]})
    assert result.exit_code == 0, result.output
    request, _ = server.log[0]
    body = request.get_data()
    assert json.loads(body) == payload
    expected = "sha256=" + hmac.new(b"hmac-key-77", body, hashlib.sha256).hexdigest()
    assert request.headers["X-Corral-Signature-256"] == expected
    assert request.headers["X-Team"] == "ops"
    assert request.headers["X-Corral-Delivery"] == results[0]["delivery"]
    assert results[0]["status"] == 204
    assert "hmac-key-77" not in result.output


def test_webhook_custom_signature_header_and_method(project, server):
    server.expect_request("/h", method="PUT").respond_with_data("ok")
    task = {
        "notify.webhook": {
            "url": server.url_for("/h"),
            "payload": [1, 2],
            "method": "PUT",
            "secret": "k",
            "signature_header": "X-Hub-Signature-256",
        }
    }
    result, _ = run_play(project, {"tasks": [task]})
    assert result.exit_code == 0, result.output
    request, _ = server.log[0]
    assert request.headers["X-Hub-Signature-256"] == notify.sign("k", request.get_data())
    assert "X-Corral-Signature-256" not in request.headers


def test_webhook_over_https_trusts_only_the_given_ca(project, ca, ca_file):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    srv = HTTPServer(host="127.0.0.1", port=0, ssl_context=context, threaded=True)
    srv.expect_request("/h").respond_with_data("ok")
    srv.start()
    try:
        base = {"url": srv.url_for("/h"), "payload": {}}
        tasks = [
            {"notify.webhook": base, "ignore_errors": True},
            {"notify.webhook": {**base, "ca_cert": str(ca_file)}},
        ]
        result, results = run_play(project, {"tasks": tasks})
    finally:
        srv.stop()
    assert "TLS certificate verify failed" in results[0]["msg"]
    assert result.exit_code == 0, result.output
    assert len(srv.log) == 1


# -- notify.email ------------------------------------------------------------------------------


def _email_args(controller, ca_file, **extra):
    return {
        "host": "127.0.0.1",
        "port": controller.port,
        "username": SMTP_USER,
        "password": SMTP_PASSWORD,
        "ca_cert": str(ca_file),
        "sender": "Deploys <deploy@example.com>",
        "to": ["ops@example.com", "lead@example.com"],
        "cc": "audit@example.com",
        "bcc": ["archive@example.com"],
        "subject": "Deploy of web finished",
        "body": "All hosts upgraded.\n",
        "html": "<p>All hosts <b>upgraded</b>.</p>",
        **extra,
    }


def test_email_with_starttls_auth_text_and_html(project, smtp_starttls, ca_file):
    task = {"notify.email": _email_args(smtp_starttls, ca_file)}
    result, results = run_play(project, {"tasks": [task]})
    assert result.exit_code == 0, result.output
    (envelope,) = smtp_starttls.mailbox.envelopes
    assert envelope.mail_from == "deploy@example.com"
    assert sorted(envelope.rcpt_tos) == [
        "archive@example.com",
        "audit@example.com",
        "lead@example.com",
        "ops@example.com",
    ]
    (message,) = smtp_starttls.mailbox.messages()
    assert message["Subject"] == "Deploy of web finished"
    assert message["To"] == "ops@example.com, lead@example.com"
    assert message["Cc"] == "audit@example.com"
    assert "Bcc" not in message
    assert message.get_body(("plain",)).get_content().rstrip() == "All hosts upgraded."
    assert "<b>upgraded</b>" in message.get_body(("html",)).get_content()
    assert results[0]["recipients"][-1] == "archive@example.com"
    assert SMTP_PASSWORD not in result.output


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_email_over_ssl(project, smtp_ssl, ca_file):
    task = {"notify.email": _email_args(smtp_ssl, ca_file, security="ssl", html=None)}
    del task["notify.email"]["html"]
    result, _ = run_play(project, {"tasks": [task]})
    assert result.exit_code == 0, result.output
    (message,) = smtp_ssl.mailbox.messages()
    assert message.get_content_type() == "text/plain"


def test_email_bad_login_is_reported(project, smtp_starttls, ca_file):
    task = {"notify.email": _email_args(smtp_starttls, ca_file, password="wrong-password")}
    result, results = run_play(project, {"tasks": [task]})
    assert result.exit_code == 2
    assert results[0]["msg"].startswith(f"SMTP login to 127.0.0.1:{smtp_starttls.port} failed: 535")
    assert "wrong-password" not in result.output
    assert not smtp_starttls.mailbox.envelopes


def test_email_refuses_to_fall_back_to_clear_text(project, smtp_plain, ca_file):
    args = {
        "host": "127.0.0.1",
        "port": smtp_plain.port,
        "to": "a@example.com",
        "subject": "s",
        "body": "b",
    }
    tasks = [
        {"notify.email": args, "ignore_errors": True},
        {"notify.email": {**args, "security": "none"}},
    ]
    result, results = run_play(project, {"tasks": tasks})
    assert "does not offer STARTTLS" in results[0]["msg"]
    assert result.exit_code == 0, result.output
    assert len(smtp_plain.mailbox.envelopes) == 1


def test_email_untrusted_certificate(project, smtp_starttls):
    args = {
        "host": "127.0.0.1",
        "port": smtp_starttls.port,
        "to": "a@example.com",
        "subject": "s",
        "body": "b",
    }
    result, results = run_play(project, {"tasks": [{"notify.email": args}]})
    assert result.exit_code == 2
    assert "not trusted" in results[0]["msg"]
    assert "ca_cert" in results[0]["msg"]


def test_email_server_down(project):
    args = {
        "host": "127.0.0.1",
        "port": _free_port(),
        "to": "a@example.com",
        "subject": "s",
        "body": "b",
    }
    result, results = run_play(project, {"tasks": [{"notify.email": args}]})
    assert result.exit_code == 2
    assert "Connection refused" in results[0]["msg"]


# -- playbook notifications ----------------------------------------------------------------------


def _hooks(server):
    for path in ("/slack", "/teams", "/hook"):
        server.expect_request(path).respond_with_data("ok")
    return {
        "slack": {"channel": "slack", "webhook_url": server.url_for("/slack")},
        "teams": {"channel": "teams", "webhook_url": server.url_for("/teams")},
        "webhook": {"channel": "webhook", "url": server.url_for("/hook"), "secret": "s3"},
    }


def _by_path(server) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for request, _ in server.log:
        out.setdefault(request.path, []).append(request.get_json())
    return out


def test_failed_run_notifies_failure_channels(project, server, smtp_starttls, ca_file):
    hooks = _hooks(server)
    mail = {"channel": "email", "on": ["failure"], **_email_args(smtp_starttls, ca_file)}
    for key in ("subject", "body", "html", "cc", "bcc"):
        del mail[key]
    notifications = [
        {**hooks["slack"], "on": ["failure"]},
        {**hooks["teams"], "on": ["success"]},
        {**hooks["webhook"]},  # on everything by default
        mail,
    ]
    tasks = [{"debug": {"msg": "hi"}}, {"fail": {"msg": "disk full"}}]
    result, _ = run_play(project, {"notifications": notifications, "tasks": tasks})
    assert result.exit_code == 2
    got = _by_path(server)
    assert "/teams" not in got
    (slack,) = got["/slack"]
    assert slack["text"] == "site.yml failed on localhost"
    assert "localhost: ok=1 changed=0 failed=1" in json.dumps(slack["blocks"])
    (hook,) = got["/hook"]
    assert hook["event"] == "run_end"
    assert hook["outcome"] == "failure"
    assert hook["exit_code"] == 2
    assert hook["failed_hosts"] == ["localhost"]
    assert hook["hosts"]["localhost"]["failed"] == 1
    (message,) = smtp_starttls.mailbox.messages()
    assert message["Subject"] == "[corral] site.yml failed on localhost"
    assert "localhost: ok=1" in message.get_body(("plain",)).get_content()
    assert "warning" not in result.stderr


def test_successful_run_notifies_success_channels(project, server):
    hooks = _hooks(server)
    notifications = [{**hooks["slack"], "on": ["failure"]}, {**hooks["teams"], "on": ["success"]}]
    result, _ = run_play(
        project, {"notifications": notifications, "tasks": [{"debug": {"msg": "hi"}}]}
    )
    assert result.exit_code == 0, result.output
    got = _by_path(server)
    assert list(got) == ["/teams"]
    card = got["/teams"][0]["attachments"][0]["content"]
    assert card["body"][0]["text"] == "site.yml succeeded"


def test_entry_arguments_override_the_message_and_may_be_templates(project, server, monkeypatch):
    server.expect_request("/slack").respond_with_data("ok")
    monkeypatch.setenv("CORRAL_TEST_SLACK_URL", server.url_for("/slack"))
    entry = {
        "channel": "slack",
        "webhook_url": "{{ lookup('env', 'CORRAL_TEST_SLACK_URL') }}",
        "text": "{{ run.playbook }}: {{ run.status }} ({{ run.hosts | length }} host)",
        "username": "corral-bot",
    }
    result, _ = run_play(project, {"notifications": [entry], "tasks": [{"debug": {"msg": "hi"}}]})
    assert result.exit_code == 0, result.output
    (payload,) = received(server)
    assert payload == {"text": "site.yml: succeeded (1 host)", "username": "corral-bot"}
    assert server.url_for("/slack") not in result.output


def test_failing_notification_warns_and_keeps_the_exit_code(project, hanging_url):
    notifications = [
        {"channel": "slack", "webhook_url": f"http://127.0.0.1:{_free_port()}/x"},
        {"channel": "webhook", "url": hanging_url, "timeout": 0.3},
    ]
    for tasks, code in (([{"debug": {"msg": "hi"}}], 0), ([{"fail": {"msg": "no"}}], 2)):
        started = time.monotonic()
        result, _ = run_play(project, {"notifications": notifications, "tasks": tasks})
        assert time.monotonic() - started < 8  # the 0.3 s given, not the default 10 s
        assert result.exit_code == code, result.output
        warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
        assert len(warnings) == 2, result.stderr
        assert warnings[0].startswith("warning: notification via slack failed: cannot connect")
        timed_out = "timed out after 0.3s waiting for the server"
        assert warnings[1] == f"warning: notification via webhook failed: {timed_out}"
        assert "Traceback" not in result.output
        assert result.json_lines()[-1]["event"] == "recap"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            {"channel": "slack", "text": 42, "webhook_url": "http://x"},
            "argument 'text' of step 'notify.slack': 42 is not of type 'string'",
        ),
        ({"channel": "pager", "to": "ops"}, "unknown notification channel 'pager'"),
    ],
)
def test_bad_notification_entries_are_caught_before_the_run(project, entry, message):
    result, _ = run_play(project, {"notifications": [entry], "tasks": [{"debug": {"msg": "x"}}]})
    assert result.exit_code == 4
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_check_mode_runs_say_so(project, server):
    hooks = _hooks(server)
    result, _ = run_play(
        project, {"notifications": [hooks["slack"]], "tasks": [{"debug": {"msg": "x"}}]}, "--check"
    )
    assert result.exit_code == 0, result.output
    assert received(server)[0]["text"] == "site.yml (check mode) succeeded"


def test_approval_requests_are_sent_to_approval_channels(project, server):
    hooks = _hooks(server)
    notifications = [
        {**hooks["webhook"], "on": ["approval"]},
        {**hooks["slack"], "on": ["approval", "success"]},
        {**hooks["teams"], "on": ["failure"]},
    ]
    approval = {"message": "Upgrade {{ groups.all | length }} hosts?", "timeout": "0.2s"}
    play = {"name": "Upgrade web", "notifications": notifications, "approval": approval}
    result, _ = run_play(project, {**play, "tasks": [{"debug": {"msg": "x"}}]})
    assert result.exit_code == 2, result.output  # nobody approved: the timeout said no
    got = _by_path(server)
    (approval_hook,) = got["/hook"]
    assert approval_hook["event"] == "approval"
    assert approval_hook["message"] == "Upgrade 1 hosts?"
    assert approval_hook["task"] == "Upgrade web"
    request, _ = next((r, s) for r, s in server.log if r.path == "/hook")
    assert request.headers["X-Corral-Signature-256"] == notify.sign("s3", request.get_data())
    # Slack is on approval and success: the approval, and no run-end message (it failed).
    assert [m["text"] for m in got["/slack"]] == ["site.yml waits for approval: Upgrade 1 hosts?"]
    assert got["/teams"][0]["attachments"][0]["content"]["body"][0]["text"].startswith(
        "site.yml failed"
    )


def test_hook_corral_event_sends_approval_requests(server, tmp_path):
    # The hook driven directly, with an approval event carrying no entries of its own.
    server.expect_request("/hook").respond_with_data("ok")
    server.expect_request("/slack").respond_with_data("ok")
    entries = [
        {"channel": "webhook", "url": server.url_for("/hook"), "on": ["approval"]},
        {"channel": "slack", "webhook_url": server.url_for("/slack"), "on": ["failure"]},
    ]
    playbook = str(tmp_path / "upgrade.yml")
    run = RunInfo("r1", Path(playbook), RunOptions(), Templar(), {"notifications": (entries,)})
    start = {"event": "run_start", "run_id": "r1", "playbook": playbook, "notifications": entries}
    notify.corral_event(event=start, run=run)
    notify.corral_event(
        event={"event": "approval", "run_id": "r1", "task": "Upgrade web", "message": "Go?"},
        run=run,
    )
    recap = {"event": "recap", "run_id": "r1", "playbook": playbook, "exit_code": 0, "hosts": {}}
    notify.corral_event(event={**recap, "notifications": entries}, run=run)
    got = _by_path(server)
    assert list(got) == ["/hook"]
    (payload,) = got["/hook"]
    assert payload["event"] == "approval"
    assert payload["message"] == "Go?"
    assert payload["task"] == "Upgrade web"
    assert payload["run_id"] == "r1"


# -- validation, registration, docs ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("task", "message"),
    [
        ("notify.slack: {text: hi}", "step 'notify.slack': 'webhook_url' is a required property"),
        (
            "notify.slack: {webhook_url: 'http://x', txt: hi}",
            "unknown argument 'txt' for step 'notify.slack'",
        ),
        (
            "notify.teams: {webhook_url: 'http://x', text: t, format: html}",
            "argument 'format' of step 'notify.teams'",
        ),
        (
            "notify.email: {to: a@b.c, subject: s, body: b, security: tls}",
            "argument 'security' of step 'notify.email'",
        ),
        (
            "notify.email: {to: a@b.c, subject: s, body: b, port: smtp}",
            "argument 'port' of step 'notify.email'",
        ),
        (
            "notify.webhook: {url: 'http://x', payload: {}, method: GET}",
            "argument 'method' of step 'notify.webhook'",
        ),
        ("notify.webhook: {url: 'http://x'}", "'payload' is a required property"),
    ],
)
def test_check_reports_wrong_arguments_with_file_and_line(project, task, message):
    project.write(
        "site.yml", f"- hosts: localhost\n  tasks:\n    - debug: {{msg: hi}}\n    - {task}\n"
    )
    result = project.run("check", "site.yml", "-i", "hosts.yml")
    assert result.exit_code == 4, result.output
    first = result.stderr.splitlines()[0]
    assert first.startswith("error: site.yml:4:"), first
    assert message in first


def test_plugins_lists_the_notify_steps(project):
    result = project.run("plugins", "--json")
    plugin = next(p for p in json.loads(result.stdout) if p["name"] == "notify")
    listed = json.dumps(plugin["steps"])
    for name in ("notify.slack", "notify.teams", "notify.email", "notify.webhook"):
        assert name in listed
    assert "corral_event" in json.dumps(plugin["hooks"])


def test_schemas_and_docs_describe_every_argument():
    text = DOCS.read_text()
    assert text.startswith("# notify ")
    for heading in ("## Returns", "## Check mode and diff", "## Examples", "## Run notifications"):
        assert heading in text
    for channel in notify.CHANNELS.values():
        step = channel.step
        assert step.on == "controller"
        assert step.check_mode
        section = text.split(f"## {step.name}", 1)[1].split("\n## ", 1)[0]
        for name, prop in step.schema["properties"].items():
            assert prop.get("description"), f"{step.name}.{name}"
            assert f"| `{name}`" in section, f"notify.md does not list {step.name} {name}"
            assert prop["description"] in section, f"notify.md: {step.name} {name} is stale"
