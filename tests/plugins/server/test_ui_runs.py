"""The web UI's run pages: a run live while it runs, then finished; cancel and resume."""

from __future__ import annotations

import html
import json
from pathlib import Path

import httpx
from served import Served, events_of, wait_for
from ui_client import csrf_of, logged_in

SLOW = """
- hosts: all
  gather_facts: false
  tasks:
    - name: first step
      command: echo one
    - block:
        - name: long wait
          command: sleep 30
      always:
        - name: clean up
          command: echo cleaned up
"""

# An approval, a change with a diff, a failure, and the rollback it causes.
ROLLED_BACK = """
- hosts: all
  gather_facts: false
  params:
    dir: {type: string}
  tasks:
    - approval:
        message: "Ship v2?"
        timeout: 5m
    - name: write the version
      copy: {dest: "{{ dir }}/version", content: "v2\\n"}
      diff: true
    - name: break on purpose
      command: "false"
  rollback:
    - name: undo the version
      command: echo undone
"""


def _audit(served: Served) -> list[tuple[str, str, str, str]]:
    from corral.store import Store

    store = Store(Path(served.project.env["CORRAL_HOME"]) / "corral.db")
    try:
        rows = store.conn.execute(
            "SELECT channel, client, action, outcome FROM audit ORDER BY id"
        ).fetchall()
    finally:
        store.close()
    return [tuple(row) for row in rows]


def test_a_running_run_is_live_and_cancel_from_the_ui_ends_it(served: Served) -> None:
    served.project.write("slow.yml", SLOW)
    served.start()
    with served.client(served.token("run")) as api, logged_in(served, "run", "ann") as browser:
        run_id = api.post("/api/v1/runs", json={"playbook": "slow.yml"}).json()["run_id"]
        page = wait_for(
            lambda: (
                (p := browser.get(f"/runs/{run_id}")).status_code == 200
                and "long wait" in p.text
                and p
            ),
            60,
            "the live view at the long wait",
        )
        assert 'data-live="1"' in page.text
        assert 'Current task: <strong class="current-task">long wait</strong>' in page.text
        assert '<td class="cell running">running</td>' in page.text
        assert '<td class="cell changed">changed</td>' in page.text  # first step, localhost
        assert "TASK [long wait]" in page.text  # the log tail
        assert "Refresh" in page.text  # for a browser without JavaScript
        assert "no past runs to estimate from" in page.text
        on_host = browser.get("/", params={"host": "localhost", "status": "running"})
        assert f'href="/runs/{run_id}"' in on_host.text  # a running run, by its units so far
        fragment = browser.get(f"/runs/{run_id}/view")
        assert "<html" not in fragment.text
        assert "long wait" in fragment.text
        answer = browser.post(
            f"/runs/{run_id}/cancel", data={"csrf": csrf_of(page.text), "grace": "1"}
        )
        assert answer.status_code == 303
        notice = browser.get(answer.headers["location"])
        assert "Cancel asked" in notice.text
        served.wait_status(api, run_id, {"cancelled"}, timeout=60)
        # The event stream (cookie-authenticated) ends with the run's end.
        stream = browser.get(f"/runs/{run_id}/events")
        assert stream.headers["content-type"].startswith("text/event-stream")
        assert events_of(stream.text)[-1] == {
            "event": "end",
            "run_id": run_id,
            "status": "cancelled",
        }
        ended = browser.get(f"/runs/{run_id}")
        assert 'data-live="1"' not in ended.text
        assert "cancelled" in ended.text
        assert "Resume run" in ended.text
        assert "Cancel run" not in ended.text
    assert ("ui", "token:ann", "cancel", "ok") in _audit(served)


def test_a_finished_run_shows_its_timeline_results_diff_rollback_and_approval(
    served: Served, tmp_path: Path
) -> None:
    served.project.write("ship.yml", ROLLED_BACK)
    served.start()
    (tmp_path / "target").mkdir()
    params = {"dir": str(tmp_path / "target")}
    with (
        served.client(served.token("run", "alice")) as api,
        served.client(served.token("approve", "bob")) as bob,
        logged_in(served, "read") as browser,
    ):
        run_id = api.post("/api/v1/runs", json={"playbook": "ship.yml", "params": params})
        run_id = run_id.json()["run_id"]
        waiting = wait_for(lambda: bob.get("/api/v1/approvals").json(), 60, "the approval")
        live = browser.get(f"/runs/{run_id}").text
        assert "Ship v2?" in live
        assert '<span class="status pending">pending</span>' in live
        answer = bob.post(f"/api/v1/approvals/{waiting[0]['id']}/approve", json={"comment": "go"})
        assert answer.status_code == 200, answer.text
        served.wait_status(api, run_id, {"failed"})
        page = browser.get(f"/runs/{run_id}")
        report = browser.get(f"/runs/{run_id}/report")
        assert report.status_code == 200
        assert "<style>" in report.text  # corral report's own page, its CSS inline
        assert "script-src" not in report.headers["content-security-policy"]
        assert "default-src 'none'" in report.headers["content-security-policy"]
    assert page.status_code == 200
    text = page.text
    assert "<svg" in text  # the report's timeline
    assert 'aria-label="timeline of tasks and hosts"' in text
    assert "Results per host" in text
    assert '<th scope="row">localhost</th>' in text
    assert "failed: [localhost] break on purpose" in text
    assert "+v2" in text  # the diff of the version file
    assert "rollback of play" in text
    assert "Ship v2?" in text
    assert "token:bob" in text
    assert "approved" in text
    assert "Resume run" not in text  # a read token has no buttons
    assert "Cancel run" not in text


def test_resume_from_the_ui_and_its_refusals(served: Served) -> None:
    served.project.write("ok.yml", "- hosts: all\n  gather_facts: false\n  tasks: []\n")
    served.project.write(
        "flaky.yml",
        """
        - hosts: all
          gather_facts: false
          tasks:
            - command: "test -e {{ playbook_dir }}/fixed"
        """,
    )
    served.start()
    with served.client(served.token("run")) as api, logged_in(served, "run", "ann") as browser:
        ok_id = api.post("/api/v1/runs", json={"playbook": "ok.yml"}).json()["run_id"]
        flaky_id = api.post("/api/v1/runs", json={"playbook": "flaky.yml"}).json()["run_id"]
        served.wait_status(api, ok_id, {"succeeded"})
        served.wait_status(api, flaky_id, {"failed"})
        csrf = csrf_of(browser.get("/").text)
        refused = browser.post(f"/runs/{ok_id}/resume", data={"csrf": csrf})
        assert (
            "only failed, interrupted or cancelled runs resume"
            in browser.get(refused.headers["location"]).text
        )
        served.project.write("fixed", "")
        resumed = browser.post(f"/runs/{flaky_id}/resume", data={"csrf": csrf})
        assert "Resuming" in browser.get(resumed.headers["location"]).text
        run = served.wait_status(api, flaky_id, {"succeeded"})
        assert run["resumes"] == 1
        missing = browser.post("/runs/nope/resume", data={"csrf": csrf})
        assert missing.status_code == 404
        assert "There is no run 'nope'" in html.unescape(missing.text)
    audit = _audit(served)
    assert ("ui", "token:ann", "resume", "ok") in audit
    assert ("ui", "token:ann", "resume", "refused: the run is succeeded") in audit


def test_the_runs_page_filters_and_pages(served: Served) -> None:
    served.project.write("a.yml", "- hosts: all\n  gather_facts: false\n  tasks: []\n")
    served.project.write("b.yml", "- hosts: all\n  gather_facts: false\n  tasks: [{fail: {}}]\n")
    served.start()
    with served.client(served.token("run")) as api:
        ids = {}
        for name in ("a.yml", "b.yml"):
            ids[name] = api.post("/api/v1/runs", json={"playbook": name}).json()["run_id"]
            served.wait_status(api, ids[name], {"succeeded", "failed"})
    # A run from the command line: its trigger is the CLI, its host list is on record.
    assert served.project.run("run", "a.yml", "-i", "inventory.ini").exit_code == 0
    with logged_in(served, "read") as browser:
        every = browser.get("/").text
        assert every.index(ids["b.yml"]) < every.index(ids["a.yml"])  # newest first
        failed = browser.get("/", params={"status": "failed"}).text
        assert ids["b.yml"] in failed
        assert ids["a.yml"] not in failed
        by_playbook = browser.get("/", params={"playbook": "a.yml"}).text
        assert ids["a.yml"] in by_playbook
        assert ids["b.yml"] not in by_playbook
        by_trigger = browser.get("/", params={"trigger": "api"}).text
        assert by_trigger.count('href="/runs/') == 2
        assert browser.get("/", params={"host": "localhost"}).text.count('href="/runs/') == 3
        assert "No run matches" in browser.get("/", params={"host": "elsewhere"}).text
        assert "No run matches" in browser.get("/", params={"since": "2999-01-01"}).text
        assert browser.get("/", params={"until": "2999-01-01T00:00"}).text.count("/runs/") >= 3
        bad = browser.get("/", params={"since": "yesterday"})
        assert bad.status_code == 400
        assert "since 'yesterday' is not a date: use YYYY-MM-DD" in html.unescape(bad.text)
        unknown = browser.get("/", params={"status": "exploded"})
        assert unknown.status_code == 400
        assert "status 'exploded' is unknown" in html.unescape(unknown.text)


def test_the_runs_page_pages_through_many_runs(served: Served) -> None:
    served.start()
    _fill(served, 120)
    with logged_in(served, "read") as browser:
        first = browser.get("/")
        assert first.text.count('href="/runs/') == 50
        assert "Older" in first.text
        assert "Newer" not in first.text
        third = browser.get("/", params={"page": 3, "status": "succeeded"})
        assert third.text.count('href="/runs/') == 20
        assert "Older" not in third.text
        assert 'href="/?status=succeeded&amp;page=2"' in third.text


def _fill(served: Served, count: int) -> None:
    """``count`` finished runs written straight into the store (as bench_ui does)."""
    import time

    from corral.store import Store

    store = Store(Path(served.project.env["CORRAL_HOME"]) / "corral.db")
    now = time.time()
    try:
        with store.transaction() as conn:
            conn.executemany(
                "INSERT INTO runs (id, playbook, status, exit_code, started, ended, duration,"
                " host_count, failed_hosts, trigger) VALUES (?, 'site.yml', 'succeeded', 0,"
                " ?, ?, 1.0, 1, 0, 'nightly')",
                [(f"fill{n:06d}", now - 60 * n, now - 60 * n + 1) for n in range(count)],
            )
    finally:
        store.close()


def test_a_logged_out_event_stream_and_page_do_not_leak(served: Served) -> None:
    served.start()
    _fill(served, 1)
    answer = httpx.get(served.url + "/runs/fill000000/events", timeout=10)
    assert answer.status_code == 303
    assert json.dumps("fill000000") not in answer.text


def test_a_run_on_many_hosts_shows_per_host_progress(served: Served) -> None:
    served.project.write(
        "inventory.ini",
        "[sim]\nnode[00:39]\n\n[sim:vars]\nansible_connection=simulated\n"
        "corral_simulated_rtt=0.3\ncorral_simulated_connect_rtts=0\n",
    )
    served.project.write("ansible.cfg", "[defaults]\ninventory = inventory.ini\nforks = 4\n")
    served.project.write(
        "fleet.yml",
        """
        - hosts: sim
          gather_facts: false
          tasks:
            - command: echo one
            - command: echo two
            - command: echo three
        """,
    )
    served.start()
    with served.client(served.token("run")) as api, logged_in(served, "read") as browser:
        run_id = api.post("/api/v1/runs", json={"playbook": "fleet.yml"}).json()["run_id"]
        page = wait_for(
            lambda: "hosts started)" in (p := browser.get(f"/runs/{run_id}").text) and p,
            60,
            "per-host progress",
        )
        assert '<table class="grid">' not in page  # 40 hosts: past the grid's 30
        assert '<th scope="row">node00</th>' in page
        served.wait_status(api, run_id, {"succeeded"})
        ended = browser.get(f"/runs/{run_id}").text
        assert "Results per host" in ended
        assert ended.count('<th scope="row">node') == 40
