"""The web UI's approvals, playbooks, triggers, locks and stats pages, on a real server."""

from __future__ import annotations

import html
import json
import re
import time
from pathlib import Path

from served import Served, wait_for
from test_server_triggers import signed
from ui_client import csrf_of, logged_in

GATED = """
- name: ship the release
  hosts: all
  gather_facts: false
  tasks:
    - name: ask the release manager
      approval:
        message: "Ship it?"
        timeout: 5m
        forbid_starter: true
    - name: shipped
      command: echo shipped
"""

TYPED = """
- hosts: all
  gather_facts: false
  params:
    version: {type: string, pattern: "^\\\\d+\\\\.\\\\d+$", description: the release}
    drain: {type: integer, minimum: 0, maximum: 600, default: 30}
    env: {enum: [staging, production], default: staging}
    canary: {type: boolean, default: false}
    token: {type: string, secret: true, default: none}
  tasks:
    - name: show the params
      command: "echo drain={{ drain * 2 }} canary={{ canary | bool }} env={{ env }} v={{ version }}"
"""

HOOKED = """
- hosts: all
  gather_facts: false
  triggers:
    - webhook: {path: /hooks/ship, secret_env: SHIP_SECRET, signature: generic}
    - cron: {schedule: "0 3 * * *"}
  tasks:
    - command: echo shipped
"""

WATCHING = """
- hosts: all
  gather_facts: false
  triggers:
    - file: {paths: conf, debounce: 300}
  tasks:
    - command: echo reloaded
"""

HOLDING = """
- hosts: all
  gather_facts: false
  locks: [database]
  tasks:
    - name: hold on
      command: sleep 30
"""


def _store_rows(served: Served, sql: str) -> list[tuple[object, ...]]:
    from corral.store import Store

    store = Store(Path(served.project.env["CORRAL_HOME"]) / "corral.db")
    try:
        return [tuple(row) for row in store.conn.execute(sql).fetchall()]
    finally:
        store.close()


def _text(page: str) -> str:
    """A page's text, tags dropped and entities decoded, spaces squeezed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def test_approve_from_the_inbox_and_the_starter_is_refused(served: Served) -> None:
    served.project.write("gated.yml", GATED)
    served.start()
    with (
        logged_in(served, "approve", "alice") as alice,
        logged_in(served, "approve", "bob") as bob,
        served.client(served.token("read")) as api,
    ):
        form = alice.get("/playbooks/gated.yml")
        started = alice.post("/playbooks/gated.yml/start", data={"csrf": csrf_of(form.text)})
        assert started.status_code == 303
        run_id = started.headers["location"].rsplit("/", 1)[1]
        inbox = wait_for(
            lambda: "Ship it?" in (p := alice.get("/approvals")).text and p, 60, "the approval"
        )
        shown = _text(inbox.text)
        assert run_id in shown
        assert "gated.yml ship the release task ask the release manager Ship it?" in shown
        assert "token:alice" in shown  # who started it
        assert "You started this run: someone else answers." in shown
        approval_id = api.get("/api/v1/approvals").json()[0]["id"]
        # alice started it, and the approval forbids its starter: refused even by hand.
        refused = alice.post(
            f"/approvals/{approval_id}/approve", data={"csrf": csrf_of(inbox.text)}
        )
        assert "forbids its starter" in _text(alice.get(refused.headers["location"]).text)
        page = bob.get("/approvals")
        assert f'action="/approvals/{approval_id}/approve"' in page.text
        answer = bob.post(
            f"/approvals/{approval_id}/approve",
            data={"csrf": csrf_of(page.text), "comment": "looks good"},
        )
        assert answer.status_code == 303
        assert "Approved: the run goes on." in bob.get(answer.headers["location"]).text
        served.wait_status(api, run_id, {"succeeded"})
        assert "No run is waiting for an approval." in bob.get("/approvals").text
        again = bob.post(f"/approvals/{approval_id}/reject", data={"csrf": csrf_of(page.text)})
        assert "no longer waiting" in bob.get(again.headers["location"]).text
    decided = _store_rows(served, "SELECT status, decided_by, comment FROM approvals")
    assert decided == [("approved", "token:bob", "looks good")]
    audit = _store_rows(served, "SELECT client, action, outcome, run_id FROM audit ORDER BY id")
    assert audit[0] == ("token:alice", "start", "ok", run_id)
    assert audit[1][:2] == ("token:alice", "approve")
    assert str(audit[1][2]).startswith("refused:")
    assert audit[2] == ("token:bob", "approve", "ok", run_id)
    assert audit[3][2] == "refused: not pending"


def test_start_from_the_form_gives_the_run_typed_params(served: Served) -> None:
    served.project.write("typed.yml", TYPED)
    served.start()
    with logged_in(served, "run", "ann") as browser, served.client(served.token("read")) as api:
        form = browser.get("/playbooks/typed.yml")
        assert form.status_code == 200
        assert '<input id="param-drain" name="drain" type="number" value="30" step="1"' in form.text
        assert '<select id="param-env" name="env"' in form.text
        assert 'type="checkbox" id="param-canary"' in form.text
        assert 'type="password" value=""' in form.text
        assert 'id="param-version-help">the release' in form.text
        fields = {
            "csrf": csrf_of(form.text),
            "version": "2.1",
            "drain": "45",
            "env": "production",
            "canary": "true",
            "token": "hunter2",
        }
        started = browser.post("/playbooks/typed.yml/start", data=fields)
        assert started.status_code == 303
        run_id = started.headers["location"].removeprefix("/runs/")
        served.wait_status(api, run_id, {"succeeded"})
        logs = api.get(f"/api/v1/runs/{run_id}/logs").text
    assert "drain=90 canary=True env=production v=2.1" in logs  # 45 arrived as an integer
    assert "hunter2" not in logs
    (params,) = _store_rows(served, f"SELECT params FROM runs WHERE id = '{run_id}'")
    assert "hunter2" not in str(params[0])
    assert json.loads(str(params[0]))["drain"] == 45
    (audit,) = _store_rows(served, "SELECT client, action, args FROM audit")
    assert audit[:2] == ("token:ann", "start")
    assert json.loads(str(audit[2]))["params"]["token"] == "********"


def test_a_bad_field_is_shown_next_to_itself_with_the_values_kept(served: Served) -> None:
    served.project.write("typed.yml", TYPED)
    served.start()
    with logged_in(served, "run") as browser:
        form = browser.get("/playbooks/typed.yml")
        fields = {"csrf": csrf_of(form.text), "version": "two", "drain": "9999", "token": "s3"}
        answer = browser.post("/playbooks/typed.yml/start", data=fields)
    assert answer.status_code == 422
    page = answer.text
    assert "2 fields to fix before this runs" in page
    assert re.search(r'id="param-version-error">[^<]*does not match', page)
    assert re.search(r'id="param-drain-error">[^<]*9999 is greater than the maximum of 600', page)
    assert 'name="version" type="text" value="two"' in page  # kept
    assert 'aria-invalid="true" aria-describedby="param-drain-help param-drain-error"' in page
    assert "s3" not in page  # a secret is never sent back
    assert _store_rows(served, "SELECT count(*) FROM runs") == [(0,)]


def test_check_and_plan_show_their_output_in_the_page(served: Served) -> None:
    served.project.write("typed.yml", TYPED)
    served.project.write("broken.yml", "- hosts: all\n  tasks:\n    - nosuchstep: {}\n")
    served.start()
    with logged_in(served, "read") as browser:
        listed = browser.get("/playbooks")
        assert '<a href="/playbooks/typed.yml">typed.yml</a>' in listed.text
        assert "broken.yml" in _text(listed.text).split("Playbooks that do not load")[1]
        missing = browser.get("/playbooks/broken.yml")
        assert missing.status_code == 404
        assert "No playbook 'broken.yml' is served: it does not load:" in _text(missing.text)
        assert "nosuchstep" in _text(missing.text)
        form = browser.get("/playbooks/typed.yml")
        fields = {"csrf": csrf_of(form.text), "version": "1.0"}
        checked = browser.post("/playbooks/typed.yml/check", data=fields)
        planned = browser.post("/playbooks/typed.yml/plan", data=fields)
        started = browser.post("/playbooks/typed.yml/start", data=fields)
        bad = browser.post("/playbooks/typed.yml/check", data={**fields, "version": "x"})
    assert checked.status_code == 200
    assert "ok: typed.yml is valid with these params (1 play, 1 host)" in _text(checked.text)
    assert planned.status_code == 200
    shown = _text(planned.text)
    assert "show the params" in shown
    assert "localhost" in shown
    assert 'value="1.0"' in planned.text  # the form keeps what was typed
    assert started.status_code == 403  # starting needs the run scope
    assert "scope run" in _text(started.text)
    assert bad.status_code == 422
    assert "param-version-error" in bad.text
    with served.client(served.token("read")) as api:
        plan = api.post("/api/v1/playbooks/typed.yml/plan", json={"params": {"version": "1.0"}})
        wrong = api.post("/api/v1/playbooks/typed.yml/plan", json={"params": {"drain": -1}})
    assert plan.status_code == 200
    assert plan.json()["plays"][0]["hosts"] == ["localhost"]
    assert wrong.status_code == 422
    assert wrong.json()["detail"].startswith("invalid params: version: required")


def test_a_switched_off_trigger_stays_off_across_a_restart(served: Served) -> None:
    served.project.write("ship.yml", HOOKED)
    served.project.env["SHIP_SECRET"] = "hook-secret"
    served.start()
    with logged_in(served, "run", "ops") as browser:
        page = browser.get("/triggers")
        assert page.status_code == 200
        assert page.text.count("Switch off") == 2 * 2  # each button and its label
        key = re.findall(r'name="key" value="(webhook:[^"]+)"', page.text)[0]
        answer = browser.post(
            "/triggers/switch",
            data={
                "csrf": csrf_of(page.text),
                "playbook": "ship.yml",
                "key": key,
                "enabled": "false",
            },
        )
        assert answer.status_code == 303
        assert "Switched off" in browser.get(answer.headers["location"]).text
    body = b"{}"
    refused = _deliver(served, body, "d-1")
    assert refused.status_code == 423
    assert "switched off" in refused.json()["detail"]
    served.stop()
    served.start()
    with served.client(served.token("read")) as api:
        rows = {r["kind"]: r for r in api.get("/api/v1/triggers").json()}
    assert rows["webhook"]["enabled"] is False
    assert rows["webhook"]["switched_by"] == "token:ops"
    assert rows["cron"]["enabled"] is True
    assert _deliver(served, body, "d-2").status_code == 423
    table = served.project.run("triggers").stdout
    assert re.search(r"webhook: path=/hooks/ship.*\boff\b.*switched off", table)
    listed = served.project.run("triggers", "--json")
    assert {r["kind"]: r["enabled"] for r in json.loads(listed.stdout)} == {
        "webhook": False,
        "cron": True,
    }
    with served.client(served.token("run")) as api:
        on = api.post("/api/v1/triggers/enable", json={"playbook": "ship.yml", "key": key})
        assert on.json() == {"playbook": "ship.yml", "key": key, "enabled": True, "changed": True}
        missing = api.post("/api/v1/triggers/disable", json={"playbook": "ship.yml", "key": "x"})
        assert missing.status_code == 404
    accepted = _deliver(served, body, "d-3")
    assert accepted.status_code == 202, accepted.text
    audit = _store_rows(served, "SELECT client, action, outcome FROM audit")
    assert audit == [("token:ops", "disable_trigger", "ok")]


def _deliver(served: Served, body: bytes, delivery: str):  # type: ignore[no-untyped-def]
    import httpx

    headers = signed(body, delivery, secret="hook-secret")
    return httpx.post(served.url + "/hooks/ship", content=body, headers=headers, timeout=30)


def test_a_read_token_sees_the_triggers_but_cannot_switch_them(served: Served) -> None:
    served.project.write("ship.yml", HOOKED)
    served.project.env["SHIP_SECRET"] = "hook-secret"
    served.start()
    with logged_in(served, "read") as browser:
        page = browser.get("/triggers")
        assert "Switch off" not in page.text
        assert "switching a trigger needs the run scope" in page.text
        refused = browser.post(
            "/triggers/switch",
            data={
                "csrf": csrf_of(page.text),
                "playbook": "ship.yml",
                "key": "k",
                "enabled": "false",
            },
        )
    assert refused.status_code == 403


def test_locks_and_stats_show_real_runs(served: Served) -> None:
    served.project.write("hold.yml", HOLDING)
    served.project.write("typed.yml", TYPED)
    served.start()
    with served.client(served.token("run")) as api, logged_in(served, "read") as browser:
        for drain in (1, 2):
            done = api.post(
                "/api/v1/runs",
                json={"playbook": "typed.yml", "params": {"version": "1.0", "drain": drain}},
            )
            served.wait_status(api, done.json()["run_id"], {"succeeded"})
        run_id = api.post("/api/v1/runs", json={"playbook": "hold.yml"}).json()["run_id"]
        locks = wait_for(
            lambda: run_id in (p := browser.get("/locks")).text and p, 60, "the run's leases"
        )
        shown = _text(locks.text)
        assert f"host localhost {run_id} hold.yml" in shown
        assert f"lock database {run_id} hold.yml" in shown
        api.post(f"/api/v1/runs/{run_id}/cancel", json={"now": True})
        served.wait_status(api, run_id, {"cancelled", "interrupted", "failed"})
        assert "No host or lock is held now." in browser.get("/locks").text
        stats = browser.get("/stats", params={"range": "24h"})
        one = browser.get("/stats", params={"playbook": "typed.yml", "range": "30d"})
        wrong = browser.get("/stats", params={"range": "1y"})
    assert stats.status_code == 200
    assert "<svg" in stats.text
    assert '<title id="plot-' in stats.text
    assert "Success rate of typed.yml" in stats.text
    assert "Slowest tasks" in stats.text
    text = _text(stats.text)
    assert "typed.yml 2 2 0 100%" in text  # the totals table
    assert "show the params (typed.yml)" in text  # the slowest task's bar
    assert "style=" not in stats.text  # the CSP allows no inline style
    assert "hold.yml" not in _text(one.text).split("Playbooks", 2)[-1].split("Tasks")[0]
    assert "range '1y' is unknown: pick one of 24h, 7d, 30d, 90d" in _text(wrong.text)


def test_a_switched_off_file_trigger_records_its_fires_and_starts_nothing(served: Served) -> None:
    (served.project.path / "conf").mkdir()
    served.project.write("reload.yml", WATCHING)
    served.start()
    conf = served.project.path / "conf"
    with served.client(served.token("run")) as api:
        (row,) = api.get("/api/v1/triggers").json()
        off = api.post(
            "/api/v1/triggers/disable", json={"playbook": "reload.yml", "key": row["key"]}
        )
        assert off.json()["changed"] is True

        written = [0.0]

        def fires() -> list[tuple[object, ...]]:
            # Written again each second (longer than the debounce) until the watch,
            # armed with the server, has seen a change.
            if time.monotonic() - written[0] > 1:
                (conf / "app.conf").write_text(f"setting = {time.monotonic()}\n")
                written[0] = time.monotonic()
            return _store_rows(served, "SELECT outcome, run_id FROM fires")

        assert wait_for(fires, 30, "a fire of the switched-off trigger")[0] == ("disabled", None)
        assert api.get("/api/v1/runs").json() == []
        api.post("/api/v1/triggers/enable", json={"playbook": "reload.yml", "key": row["key"]})
        (conf / "app.conf").write_text("setting = on\n")
        runs = wait_for(lambda: api.get("/api/v1/runs").json(), 30, "the file trigger's run")
        served.wait_status(api, runs[0]["id"], {"succeeded"})
    assert "reload.yml: file fired: skipped (switched off)" in served.output()
