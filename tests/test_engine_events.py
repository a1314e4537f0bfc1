"""The event bus: events built on the emitting thread, delivered in order by one thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any

import pytest

from corral import Secret
from corral.engine.events import EventBus


class Recorder:
    """A writer that keeps what it gets, optionally slowly, held until a gate opens, or
    failing at one event."""

    def __init__(
        self,
        delay: float = 0.0,
        fail_at: str | None = None,
        gate: threading.Event | None = None,
    ) -> None:
        self.events: list[Mapping[str, Any]] = []
        self.threads: set[str] = set()
        self.delay = delay
        self.fail_at = fail_at
        self.gate = gate

    def __call__(self, event: Mapping[str, Any]) -> None:
        if event["event"] == self.fail_at:
            raise BrokenPipeError("the reader went away")
        if self.gate is not None:
            self.gate.wait()
        time.sleep(self.delay)
        self.threads.add(threading.current_thread().name)
        self.events.append(event)


def test_a_slow_writer_does_not_hold_up_the_emitting_threads() -> None:
    gate = threading.Event()
    writer = Recorder(gate=gate)  # a writer stuck on its first event until the gate opens
    bus = EventBus("run1", [writer])
    bus.start()
    workers = [
        threading.Thread(target=lambda n=n: [bus.emit("tick", n=n, i=i) for i in range(10)])
        for n in range(5)
    ]
    try:
        for worker in workers:
            worker.start()
        deadline = time.monotonic() + 60  # an emit that waited for the writer never returns
        for worker in workers:
            worker.join(timeout=max(0.0, deadline - time.monotonic()))
        assert not any(worker.is_alive() for worker in workers), "emitting waited for the writer"
        assert writer.events == [], "every event was emitted while the writer was stuck"
    finally:
        gate.set()
    bus.flush()
    assert len(writer.events) == 50
    assert writer.threads == {"corral-events-run1"}
    for n in range(5):  # each thread's events arrive in the order it emitted them
        assert [e["i"] for e in writer.events if e["n"] == n] == list(range(10))
    bus.close()


def test_flush_waits_for_delivery_and_close_drains() -> None:
    writer = Recorder(delay=0.02)
    bus = EventBus("run1", [writer])
    bus.start()
    for i in range(5):
        bus.emit("tick", i=i)
    bus.flush()
    assert [e["i"] for e in writer.events] == list(range(5))
    bus.emit("recap", hosts={})
    bus.close()
    assert writer.events[-1]["event"] == "recap"
    bus.emit("late")  # after close: delivered on the emitting thread
    assert writer.events[-1]["event"] == "late"


def test_a_failing_writer_stops_the_run_at_its_next_event() -> None:
    writer = Recorder(fail_at="boom")
    bus = EventBus("run1", [writer])
    bus.start()
    bus.emit("before")
    bus.emit("boom")
    with pytest.raises(BrokenPipeError):
        bus.flush()
    with pytest.raises(BrokenPipeError):
        bus.emit("after")
    with pytest.raises(BrokenPipeError):
        bus.close()
    assert [e["event"] for e in writer.events] == ["before"]


def test_events_are_plain_and_redacted_as_emitted() -> None:
    writer = Recorder()
    bus = EventBus("run1", [writer])
    bus.start()
    bus.add_secret("hunter2")
    result = {"stdout": "password is hunter2", "token": Secret("x"), "cmd": ("a", 1)}
    bus.emit("task_result", result=result)
    result["stdout"] = "changed after the emit"
    bus.warn("once")
    bus.warn("once")
    bus.close()
    first, warning = writer.events
    assert first["result"] == {
        "stdout": "password is ********",
        "token": "********",
        "cmd": ["a", 1],
    }
    assert warning["message"] == "once"


def test_a_failing_plugin_is_a_warning_before_the_event() -> None:
    writer = Recorder()

    def observer(event: Mapping[str, Any]) -> list[tuple[str, BaseException]]:
        return [("flaky", RuntimeError("down"))] if event["event"] == "recap" else []

    bus = EventBus("run1", [writer], observer=observer)
    bus.start()
    bus.emit("recap", hosts={})
    bus.close()
    assert [e["event"] for e in writer.events] == ["warning", "recap"]
    assert (
        writer.events[0]["message"] == "plugin 'flaky' failed on event 'recap': RuntimeError: down"
    )
