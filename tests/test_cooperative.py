"""corral.cooperative: many units on one thread, and the same calls off the hub."""

from __future__ import annotations

import queue
import threading
import time

import pytest

from corral import cooperative
from corral.cooperative import Hub


def _collect(done: queue.SimpleQueue[object], count: int, timeout: float = 30) -> list[object]:
    return [done.get(timeout=timeout) for _ in range(count)]


def test_a_thousand_sleeping_units_share_one_thread() -> None:
    hub = Hub(limit=1000)
    done: queue.SimpleQueue[object] = queue.SimpleQueue()
    threads: set[int] = set()

    def unit(n: int) -> None:
        threads.add(threading.get_ident())
        cooperative.sleep(0.2)
        threads.add(threading.get_ident())
        done.put(n)

    started = time.monotonic()
    for n in range(1000):
        hub.spawn(unit, n)
    assert sorted(_collect(done, 1000)) == list(range(1000))  # type: ignore[type-var]
    elapsed = time.monotonic() - started
    hub.close()
    assert len(threads) == 1
    assert threads != {threading.get_ident()}
    # One after the other they would take 200 s: they waited together.
    assert elapsed < 20


def test_no_more_than_limit_units_run_at_once() -> None:
    hub = Hub(limit=3)
    done: queue.SimpleQueue[object] = queue.SimpleQueue()
    running = 0
    most = 0

    def unit() -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        cooperative.sleep(0.01)
        running -= 1
        done.put(None)

    for _ in range(20):
        hub.spawn(unit)
    _collect(done, 20)
    hub.close()
    assert most == 3


def test_a_blocking_call_waits_on_a_helper_thread_while_others_run() -> None:
    hub = Hub(limit=10)
    order: queue.SimpleQueue[str] = queue.SimpleQueue()
    release = threading.Event()

    def blocking() -> str:
        release.wait(10)
        return "slow done"

    def slow() -> None:
        order.put(cooperative.call_blocking(blocking))

    def fast() -> None:
        cooperative.sleep(0.01)
        order.put("fast done")
        release.set()

    hub.spawn(slow)
    hub.spawn(fast)
    assert order.get(timeout=10) == "fast done"
    assert order.get(timeout=10) == "slow done"
    hub.close()


def test_an_error_in_a_blocking_call_reaches_the_unit() -> None:
    hub = Hub(limit=2)
    seen: queue.SimpleQueue[str] = queue.SimpleQueue()

    def broken() -> None:
        raise OSError("no route to host")

    def unit() -> None:
        try:
            cooperative.call_blocking(broken)
        except OSError as exc:
            seen.put(str(exc))

    hub.spawn(unit)
    assert seen.get(timeout=10) == "no route to host"
    hub.close()


def test_a_lock_held_across_a_wait_does_not_stall_the_hub() -> None:
    # A plain `with lock:` would block the hub's only thread while the holder sleeps
    # on it: neither unit could ever go on.
    hub = Hub(limit=2)
    lock = threading.Lock()
    done: queue.SimpleQueue[str] = queue.SimpleQueue()

    def unit(name: str) -> None:
        with cooperative.held(lock):
            cooperative.sleep(0.05)
        done.put(name)

    hub.spawn(unit, "a")
    hub.spawn(unit, "b")
    assert sorted(_collect(done, 2, timeout=10)) == ["a", "b"]  # type: ignore[type-var]
    hub.close()


def test_wait_event_sees_an_event_set_by_another_thread() -> None:
    hub = Hub(limit=2)
    event = threading.Event()
    seen: queue.SimpleQueue[tuple[bool, bool]] = queue.SimpleQueue()

    def unit() -> None:
        early = cooperative.wait_event(event, 0.01)
        seen.put((early, cooperative.wait_event(event, 10)))

    hub.spawn(unit)
    time.sleep(0.1)
    event.set()
    assert seen.get(timeout=10) == (False, True)
    hub.close()


def test_close_raises_what_crashed_a_unit() -> None:
    hub = Hub(limit=2)

    def unit() -> None:
        raise RuntimeError("engine bug")

    hub.spawn(unit)
    with pytest.raises(RuntimeError, match="engine bug"):
        hub.close()


def test_off_the_hub_the_calls_block_as_usual() -> None:
    assert cooperative.current_hub() is None
    started = time.monotonic()
    cooperative.sleep(0.05)
    assert time.monotonic() - started >= 0.05
    event = threading.Event()
    assert cooperative.wait_event(event, 0.01) is False
    assert cooperative.call_blocking(lambda x: x * 2, 21) == 42
    lock = threading.Lock()
    with cooperative.held(lock):
        assert lock.locked()
    assert not lock.locked()
