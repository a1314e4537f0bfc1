"""The built-in writers: console and JSON lines keep lines back until the event bus idles."""

from __future__ import annotations

import io

import pytest

from corral.engine.events import EventBus
from corral_plugins.output.console import ConsoleWriter
from corral_plugins.output.jsonlines import JsonLinesWriter


def test_writers_that_keep_lines_back_write_them_when_the_queue_runs_dry() -> None:
    stream = io.StringIO()
    writer = JsonLinesWriter(stream, buffered=True)
    writer({"event": "a"})
    writer({"event": "b"})
    assert stream.getvalue() == ""  # kept back
    writer.idle()
    assert stream.getvalue() == '{"event":"a"}\n{"event":"b"}\n'
    for i in range(300):
        writer({"event": "tick", "i": i})
    assert stream.getvalue().count("tick") == 256  # never more than 256 lines kept back

    console_out = io.StringIO()
    bus = EventBus("run1", [JsonLinesWriter(console_out, buffered=True)])
    bus.start()
    bus.emit("task_start", task="x")
    bus.flush()  # whatever was emitted is out when flush returns
    assert '"event":"task_start"' in console_out.getvalue()
    bus.close()


def test_plain_console_lines_wait_for_idle(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    writer = ConsoleWriter(buffered=True)
    writer({"event": "play_start", "play": "web"})
    assert out.getvalue() == ""
    writer.idle()
    assert out.getvalue().startswith("\nPLAY [web] ****")
