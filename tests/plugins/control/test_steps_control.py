"""debug, set_fact, assert, fail, pause, meta and wait_for, through their registered StepTypes."""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, ValidationError
from step_runner import make_render, registered_steps, run_step

from corral import StepContext, StepResult, TemplateError
from corral_plugins import control
from corral_plugins.local import LocalConnection

STEPS = registered_steps(control)


def run(name: str, ctx: StepContext, args: Mapping[str, Any]) -> StepResult:
    return run_step(STEPS, name, ctx, args)


def make_ctx(variables: Mapping[str, Any] | None = None) -> StepContext:
    variables = dict(variables or {})
    logged: list[str] = []
    return StepContext(
        host="localhost",
        vars=variables,
        conn=LocalConnection(),
        render=make_render(variables),
        log=logged.append,
    )


# -- debug --------------------------------------------------------------------------------


def test_debug_says_hello_world_by_default() -> None:
    result = run("debug", make_ctx(), {})
    assert result.msg == "Hello world!"
    assert result.as_dict()["msg"] == "Hello world!"
    assert not result.changed


def test_debug_msg_can_be_any_value() -> None:
    result = run("debug", make_ctx(), {"msg": ["a", {"b": 1}]})
    assert result.as_dict()["msg"] == ["a", {"b": 1}]


def test_debug_var_shows_a_variable_or_expression_under_its_name() -> None:
    ctx = make_ctx({"port": 8080, "users": ["ann", "bob"]})
    assert run("debug", ctx, {"var": "port"}).data == {"port": 8080}
    assert run("debug", ctx, {"var": "users | length"}).data == {"users | length": 2}


def test_debug_var_undefined_says_so_like_ansible() -> None:
    result = run("debug", make_ctx(), {"var": "nope"})
    assert not result.failed
    assert result.data == {"nope": "VARIABLE IS NOT DEFINED!"}


def test_debug_verbosity_threshold() -> None:
    quiet = run("debug", make_ctx(), {"msg": "detail", "verbosity": 2})
    assert quiet.skipped
    assert quiet.data["skipped_reason"] == "Verbosity threshold not met."
    loud = run("debug", make_ctx({"ansible_verbosity": 2}), {"msg": "detail", "verbosity": 2})
    assert loud.msg == "detail"


def test_debug_refuses_msg_and_var_together() -> None:
    with pytest.raises(ValidationError):
        Draft202012Validator(STEPS["debug"].schema).validate({"msg": "a", "var": "b"})


# -- set_fact, fail, meta ---------------------------------------------------------------------


def test_set_fact_sets_host_variables_and_ignores_cacheable() -> None:
    result = run("set_fact", make_ctx(), {"release": "1.2.3", "replicas": 3, "cacheable": True})
    assert result.set_vars == {"release": "1.2.3", "replicas": 3}
    assert result.as_dict()["ansible_facts"] == {"release": "1.2.3", "replicas": 3}
    assert not result.changed


@pytest.mark.parametrize("args", [{}, {"1st": 1}, {"with-dash": 1}])
def test_set_fact_schema_needs_valid_variable_names(args: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Draft202012Validator(STEPS["set_fact"].schema).validate(args)


def test_fail_fails_with_its_message() -> None:
    assert run("fail", make_ctx(), {}).msg == "Failed as requested from task"
    result = run("fail", make_ctx(), {"msg": "disk full"})
    assert result.failed
    assert result.msg == "disk full"


def test_meta_hands_the_action_to_the_engine() -> None:
    result = run("meta", make_ctx(), {"action": "flush_handlers"})
    assert result.meta_action == "flush_handlers"
    assert result.data == {}
    assert STEPS["meta"].free_form == "action"
    with pytest.raises(ValidationError):
        Draft202012Validator(STEPS["meta"].schema).validate({"action": "reboot"})


# -- assert -------------------------------------------------------------------------------------


def test_assert_passes_when_every_condition_holds() -> None:
    ctx = make_ctx({"result": {"rc": 0, "stdout": "ok"}, "items": [1, 2]})
    that = [
        "result.rc == 0",
        "'ok' in result.stdout",
        "items | length == 2",
        "missing is undefined",
    ]
    result = run("assert", ctx, {"that": that})
    assert not result.failed
    assert result.msg == "All assertions passed"


def test_assert_reports_the_first_failing_condition() -> None:
    ctx = make_ctx({"rc": 1})
    result = run("assert", ctx, {"that": ["rc is number", "rc == 0"], "fail_msg": "bad rc"})
    assert result.failed
    assert result.msg == "bad rc"
    assert result.data == {"assertion": "rc == 0", "evaluated_to": False}
    assert run("assert", ctx, {"that": "rc == 0"}).msg == "Assertion failed"
    assert run("assert", ctx, {"that": "rc == 0", "msg": "alias"}).msg == "alias"


def test_assert_success_msg_and_plain_booleans() -> None:
    result = run("assert", make_ctx(), {"that": [True], "success_msg": "fine"})
    assert result.msg == "fine"
    assert run("assert", make_ctx(), {"that": False}).failed


def test_assert_false_strings_are_not_mistaken_for_true() -> None:
    # A templater that returns text would give "False": the {% if %} form avoids that trap.
    def text_render(text: str, extra: Mapping[str, Any] | None = None) -> Any:
        return str(make_render({"x": 1})(text, extra))

    ctx = make_ctx()
    ctx.render = text_render
    assert run("assert", ctx, {"that": "x == 2"}).failed
    assert not run("assert", ctx, {"that": "x == 1"}).failed


def test_assert_on_an_undefined_variable_is_a_template_error() -> None:
    with pytest.raises(TemplateError):
        run("assert", make_ctx(), {"that": "nope == 1"})


# -- pause ----------------------------------------------------------------------------------------


def test_pause_sleeps_for_the_given_seconds() -> None:
    started = time.monotonic()
    result = run("pause", make_ctx(), {"seconds": 0.2})
    elapsed = time.monotonic() - started
    assert 0.2 <= elapsed < 10  # seconds, not minutes (12 s)
    assert not result.failed
    assert result.stdout is not None
    assert result.stdout.startswith("Paused for 0.2")


def test_a_cancelled_run_wakes_a_pause() -> None:
    ctx = make_ctx()
    threading.Timer(0.1, ctx.cancelled.set).start()
    started = time.monotonic()
    result = run("pause", ctx, {"minutes": 10})
    assert time.monotonic() - started < 60  # well before the 10 minutes
    assert result.failed
    assert "cancelled" in result.msg


def test_pause_prompt_without_a_terminal_does_not_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    with open(os.devnull) as devnull:
        monkeypatch.setattr(sys, "stdin", devnull)
        logged: list[str] = []
        ctx = make_ctx()
        ctx.log = logged.append
        started = time.monotonic()
        result = run("pause", ctx, {"prompt": "Check the dashboard"})
    assert time.monotonic() - started < 10  # did not wait for an answer that cannot come
    assert not result.failed
    assert any("Check the dashboard" in line and "not interactive" in line for line in logged)


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """Make stdin a pseudo-terminal; yields the fd to type into."""
    main_fd, tty_fd = os.openpty()
    tty = os.fdopen(tty_fd, "r")
    monkeypatch.setattr(sys, "stdin", tty)
    yield main_fd
    tty.close()
    os.close(main_fd)


@pytest.mark.parametrize("echo", [True, False])
def test_pause_prompt_on_a_terminal_waits_for_enter(terminal: int, echo: bool) -> None:
    threading.Timer(0.2, os.write, (terminal, b"go ahead\n")).start()
    started = time.monotonic()
    result = run("pause", make_ctx(), {"prompt": "Continue?", "echo": echo})
    assert time.monotonic() - started > 0.15  # it waited for the line typed at 0.2 s
    assert result.data["user_input"] == "go ahead"


# -- wait_for ------------------------------------------------------------------------------


@pytest.fixture
def listening() -> Iterator[socket.socket]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    yield server
    server.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_wait_for_an_open_port_returns_at_once(listening: socket.socket) -> None:
    port = listening.getsockname()[1]
    started = time.monotonic()
    result = run("wait_for", make_ctx(), {"port": port, "timeout": 60})
    assert time.monotonic() - started < 30  # did not wait for the timeout
    assert not result.failed
    assert result.data["port"] == port
    assert result.data["elapsed"] == 0


def test_wait_for_a_closed_port_times_out_with_ansibles_message() -> None:
    port = _free_port()
    started = time.monotonic()
    result = run("wait_for", make_ctx(), {"port": port, "timeout": 0.6, "sleep": 0.2})
    assert 0.6 <= time.monotonic() - started < 15
    assert result.failed
    assert result.msg == f"Timeout when waiting for 127.0.0.1:{port}"
    custom = run("wait_for", make_ctx(), {"port": port, "timeout": 0, "msg": "db not up"})
    assert custom.msg == "db not up"


def test_wait_for_a_port_that_opens_later() -> None:
    port = _free_port()
    server = socket.socket()

    def open_later() -> None:
        server.bind(("127.0.0.1", port))
        server.listen(1)

    threading.Timer(0.3, open_later).start()
    try:
        result = run("wait_for", make_ctx(), {"port": port, "timeout": 5, "sleep": 0.1})
    finally:
        time.sleep(0.05)
        server.close()
    assert not result.failed


def test_wait_for_a_port_to_stop(listening: socket.socket) -> None:
    port = _free_port()
    assert not run("wait_for", make_ctx(), {"port": port, "state": "stopped", "timeout": 2}).failed
    busy = listening.getsockname()[1]
    result = run(
        "wait_for", make_ctx(), {"port": busy, "state": "stopped", "timeout": 0.3, "sleep": 0.1}
    )
    assert result.msg == f"Timeout when waiting for 127.0.0.1:{busy} to stop."


def test_wait_for_a_banner_matching_search_regex(listening: socket.socket) -> None:
    def greet() -> None:
        conn, _ = listening.accept()
        conn.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")
        time.sleep(0.5)
        conn.close()

    threading.Thread(target=greet, daemon=True).start()
    args = {"port": listening.getsockname()[1], "search_regex": r"OpenSSH_(\d+)\.(?P<minor>\d+)"}
    started = time.monotonic()
    result = run("wait_for", make_ctx(), {**args, "timeout": 60})
    assert time.monotonic() - started < 30  # returned on the match, not at the timeout
    assert not result.failed
    assert result.data["match_groups"] == ["9", "2"]
    assert result.data["match_groupdict"] == {"minor": "2"}


def test_wait_for_a_file_to_appear_and_to_match(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    threading.Timer(0.2, log.write_text, ("starting\n",)).start()
    threading.Timer(0.5, log.write_text, ("starting\nready on port 8443\n",)).start()
    args = {"path": str(log), "search_regex": r"ready on port (\d+)", "timeout": 5, "sleep": 0.1}
    result = run("wait_for", make_ctx(), args)
    assert not result.failed
    assert result.data["match_groups"] == ["8443"]
    assert result.data["path"] == str(log)


def test_wait_for_a_file_to_go_away(tmp_path: Path) -> None:
    lock = tmp_path / "lock"
    lock.touch()
    threading.Timer(0.2, lock.unlink).start()
    args = {"path": str(lock), "state": "absent", "timeout": 5, "sleep": 0.1}
    assert not run("wait_for", make_ctx(), args).failed
    missing = run(
        "wait_for", make_ctx(), {"path": str(tmp_path / "never"), "timeout": 0.2, "sleep": 0.1}
    )
    assert missing.msg == f"Timeout when waiting for file {tmp_path / 'never'}"


def test_wait_for_with_nothing_to_watch_just_sleeps() -> None:
    started = time.monotonic()
    assert not run("wait_for", make_ctx(), {"timeout": 0.3}).failed
    assert 0.3 <= time.monotonic() - started < 10


def test_a_cancelled_run_stops_wait_for() -> None:
    ctx = make_ctx()
    threading.Timer(0.2, ctx.cancelled.set).start()
    started = time.monotonic()
    result = run("wait_for", ctx, {"port": _free_port(), "timeout": 60, "sleep": 0.1})
    assert time.monotonic() - started < 30  # well before the 60 s timeout
    assert result.msg == "wait_for cancelled"


def test_wait_for_rejects_bad_combinations(tmp_path: Path) -> None:
    with pytest.raises(ValidationError):
        Draft202012Validator(STEPS["wait_for"].schema).validate({"port": 1, "path": "/x"})
    stopped_path = run("wait_for", make_ctx(), {"path": str(tmp_path), "state": "stopped"})
    assert stopped_path.failed
    bad_regex = run("wait_for", make_ctx(), {"path": str(tmp_path), "search_regex": "("})
    assert bad_regex.msg.startswith("Invalid regular expression")
