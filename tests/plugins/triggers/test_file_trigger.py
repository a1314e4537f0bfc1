"""The ``file`` trigger on real inotify: a burst of writes is one run, globs filter it.

Each test runs the trigger's watch in a thread, writes files, and waits (bounded) for
what it fires; the thread is stopped through the trigger's stop event.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from corral import TriggerContext
from corral.testing import CorralProject
from corral_plugins.triggers.files import Watched, watch

DEBOUNCE = 1000  # milliseconds: a loaded machine may pause between two writes


@contextmanager
def watching(playbook: Path, args: Mapping[str, Any]) -> Iterator[list[list[str]]]:
    """Run the trigger in a thread; yields the list its fires are appended to."""
    fired: list[list[str]] = []
    ctx = TriggerContext(str(playbook), lambda payload: fired.append(payload["changed"]))
    thread = threading.Thread(target=watch, args=(ctx, {"debounce": DEBOUNCE, **args}))
    thread.start()
    time.sleep(0.5)  # let inotify arm before the test writes
    try:
        yield fired
    finally:
        ctx.stopping.set()
        thread.join(timeout=10)
        assert not thread.is_alive()


def wait_quiet(fired: list[list[str]], at_least: int = 1, quiet: float = 1.5) -> None:
    """Wait for ``at_least`` fires, then for ``quiet`` seconds without another (max 15 s)."""
    deadline = time.monotonic() + 15
    while len(fired) < at_least and time.monotonic() < deadline:
        time.sleep(0.05)
    count = len(fired)
    while time.monotonic() < deadline:
        time.sleep(quiet)
        if len(fired) == count:
            return
        count = len(fired)


def test_a_hundred_writes_are_one_run_with_the_changed_path(tmp_path: Path) -> None:
    conf = tmp_path / "conf" / "app.conf"
    conf.parent.mkdir()
    with watching(tmp_path / "site.yml", {"paths": "conf"}) as fired:
        for i in range(100):
            conf.write_text(f"setting = {i}\n")
        wait_quiet(fired)
    assert fired == [[str(conf)]]


def test_globs_filter_changes_and_a_missing_directory_is_watched_for(tmp_path: Path) -> None:
    with watching(tmp_path / "site.yml", {"paths": ["conf/*.yml", "certs/"]}) as fired:
        (tmp_path / "notes.txt").write_text("not watched\n")
        (tmp_path / "conf").mkdir()
        (tmp_path / "conf" / "app.yml").write_text("a: 1\n")
        (tmp_path / "conf" / "app.txt").write_text("not matched\n")
        (tmp_path / "certs").mkdir()
        (tmp_path / "certs" / "site.pem").write_text("---\n")
        wait_quiet(fired)
    changed = sorted({path for batch in fired for path in batch})
    assert changed == [
        str(tmp_path / "certs"),
        str(tmp_path / "certs" / "site.pem"),
        str(tmp_path / "conf" / "app.yml"),
    ]


def test_relative_paths_are_under_the_playbooks_directory(tmp_path: Path) -> None:
    watched = Watched(["conf/*.yml", "/etc/hosts"], tmp_path / "playbooks")
    assert watched.roots == [Path("/etc"), tmp_path]  # nearest existing directories
    assert watched.matches(str(tmp_path / "playbooks" / "conf" / "x.yml"))
    assert not watched.matches(str(tmp_path / "playbooks" / "conf" / "x.txt"))
    assert watched.matches("/etc/hosts")
    assert not watched.matches("/etc/hostname")


def test_file_triggers_are_checked_on_plays(corral_project: CorralProject) -> None:
    corral_project.write("inventory.ini", "localhost ansible_connection=local\n")
    play = "- hosts: localhost\n  triggers:\n    - file: %s\n  tasks: []\n"
    corral_project.write("ok.yml", play % "{paths: [conf/*.yml], debounce: 500}")
    ok = corral_project.run("check", "ok.yml", "-i", "inventory.ini")
    assert ok.exit_code == 0, ok.stderr
    assert "trigger: file (paths=['conf/*.yml'], debounce=500) on play" in ok.stdout
    assert ok.stdout.rstrip().endswith("next on event")
    corral_project.write("bad.yml", play % "{paths: []}")
    bad = corral_project.run("check", "bad.yml", "-i", "inventory.ini")
    assert bad.exit_code == 4
    assert "trigger 'file': paths:" in bad.stderr
