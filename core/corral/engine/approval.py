"""Approvals: a run pauses until a person says go (or no), or a timeout decides.

The engine asks an :class:`Approver` and waits. ``corral run`` gives it one
that listens both to the terminal (when it is interactive) and to the run
store, so ``corral approve RUN`` from another shell answers too. Every
request and decision is an event (``approval``, ``approval_result``).
"""

from __future__ import annotations

import getpass
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

DEFAULT_TIMEOUT = 3600.0


@dataclass(frozen=True)
class ApprovalRequest:
    run_id: str
    key: str  # the play uid or unit id waiting
    message: str
    timeout: float
    on_timeout: str  # "fail" or "continue"
    forbid_starter: bool = False  # whoever started the run may not answer (four eyes)


@dataclass(frozen=True)
class ApprovalDecision:
    approved: bool
    by: str = ""
    comment: str = ""
    timed_out: bool = False


class Approver(Protocol):
    def __call__(
        self, request: ApprovalRequest, cancelled: threading.Event
    ) -> ApprovalDecision: ...


def who() -> str:
    """``user@host`` of the person at this terminal."""
    try:
        user = getpass.getuser()
    except Exception:
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def timeout_decision(request: ApprovalRequest) -> ApprovalDecision:
    return ApprovalDecision(
        approved=request.on_timeout == "continue",
        by="timeout",
        comment=f"no answer within {request.timeout:g}s (on_timeout: {request.on_timeout})",
        timed_out=True,
    )


def wait_only(request: ApprovalRequest, cancelled: threading.Event) -> ApprovalDecision:
    """Nobody can answer: wait out the timeout (or the run's cancellation)."""
    cancelled.wait(request.timeout)
    return timeout_decision(request)


PollStore = Callable[[ApprovalRequest], ApprovalDecision | None]


def make_approver(
    *,
    poll_store: PollStore | None,
    interactive: bool,
    poll_interval: float = 0.25,
    on_decided: Callable[[ApprovalRequest, ApprovalDecision], None] | None = None,
) -> Approver:
    """An approver that takes the first answer from the store or the terminal, else times out.

    ``on_decided`` hears every decision, however it came (the store records it).
    """

    def wait_for_answer(request: ApprovalRequest, cancelled: threading.Event) -> ApprovalDecision:
        answer: list[ApprovalDecision] = []
        done = threading.Event()
        if poll_store is not None:
            poll_store(request)  # registers the request, so `corral approve` can see it
        if interactive and not request.forbid_starter:  # the terminal is the starter's
            threading.Thread(
                target=_ask_terminal, args=(request, answer, done), daemon=True
            ).start()
        deadline = time.monotonic() + request.timeout
        while time.monotonic() < deadline and not cancelled.is_set():
            if done.wait(poll_interval):
                return answer[0]
            if poll_store is not None:
                decision = poll_store(request)
                if decision is not None:
                    return decision
        return timeout_decision(request)

    def approve(request: ApprovalRequest, cancelled: threading.Event) -> ApprovalDecision:
        decision = wait_for_answer(request, cancelled)
        if on_decided is not None:
            on_decided(request, decision)
        return decision

    return approve


def _ask_terminal(
    request: ApprovalRequest, answer: list[ApprovalDecision], done: threading.Event
) -> None:
    try:
        sys.stderr.write(f"{request.message} [y/N] ")
        sys.stderr.flush()
        line = sys.stdin.readline()
    except (OSError, ValueError):
        return
    if not line:
        return  # stdin closed: leave the decision to the store or the timeout
    reply = line.strip().lower()
    answer.append(
        ApprovalDecision(
            approved=reply in ("y", "yes"), by=who(), comment="answered at the terminal"
        )
    )
    done.set()


def request_from(
    spec: Mapping[str, Any], *, run_id: str, key: str, render: Callable[[Any], Any]
) -> ApprovalRequest:
    """Build a request from an ``approval:`` mapping (message, timeout, on_timeout)."""
    from corral.engine.retry import parse_duration

    return ApprovalRequest(
        run_id=run_id,
        key=key,
        message=str(render(spec.get("message", "Continue?"))),
        timeout=parse_duration(render(spec.get("timeout"))) or DEFAULT_TIMEOUT,
        on_timeout=str(spec.get("on_timeout", "fail")),
        forbid_starter=bool(spec.get("forbid_starter", False)),
    )
