"""A webhook flood must not flood the server's log: a few lines a second, then a count."""

from __future__ import annotations

from corral_plugins.server.metrics import ThrottledLog


def test_a_burst_shows_a_few_lines_then_how_many_were_left_out() -> None:
    lines: list[str] = []
    now = [100.0]
    log = ThrottledLog(lines.append, per_second=3, clock=lambda: now[0])
    for i in range(10):
        log(f"fire {i}")
    assert lines == ["fire 0", "fire 1", "fire 2"]
    now[0] += 0.5
    log.flush()  # the second is not over: nothing yet
    assert len(lines) == 3
    now[0] += 0.6
    log.flush()
    assert lines[3:] == ["... and 7 more like it in the last second"]
    log("fire 10")  # a new second: shown again
    assert lines[-1] == "fire 10"
    now[0] += 5
    log.flush()  # nothing was left out: nothing to tell
    assert lines[-1] == "fire 10"
