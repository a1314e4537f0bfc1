"""The pieces under the UI's pages: stats over time from real runs, SVG plots, params forms."""

from __future__ import annotations

import itertools
import time
import xml.etree.ElementTree as ET
from types import SimpleNamespace
from typing import Any

import pytest
from store_runs import record_run, store_file

from corral.playbook.params import ParamSpec, collect_params
from corral.playbook.yaml.read import loads_json
from corral_plugins.server.params_form import form_fields, params_from_form
from corral_plugins.server.plots import BOTTOM, HEIGHT, Bar, Series, bar_chart, line_chart

INVENTORY = """
all:
  vars: {ansible_connection: local}
  hosts:
    web1: {}
    db1: {}
"""
FLAKY = """
- name: deploy
  hosts: all
  gather_facts: false
  tasks:
    - name: take a while
      shell: "sleep 0.1"
      changed_when: false
    - name: break db
      shell: "exit 3"
      when: inventory_hostname == 'db1' and (break_db | default(true))
"""


def test_trends_buckets_runs_per_day_with_rates_percentiles_and_flaky_hosts(
    corral_project,
) -> None:
    from corral.store import Store
    from corral.store.trends import _RUNS, trends

    corral_project.write("hosts.yml", INVENTORY)
    corral_project.write("deploy.yml", FLAKY)
    _, failed_old = record_run(corral_project, "deploy.yml", "hosts.yml")
    record_run(corral_project, "deploy.yml", "hosts.yml", extra_vars={"break_db": False})
    record_run(corral_project, "deploy.yml", "hosts.yml")
    now = time.time()
    store = Store(store_file(corral_project))
    try:
        # One run three days back: history as a store a month old would have it.
        with store.transaction() as conn:
            conn.execute("UPDATE runs SET started = ? WHERE id = ?", (now - 3 * 86400, failed_old))
            conn.execute(
                "UPDATE run_hosts SET started = ? WHERE run_id = ?", (now - 3 * 86400, failed_old)
            )
        found = trends(store, since=now - 7 * 86400)
        recent = trends(store, since=now - 3600)
        sql = "EXPLAIN QUERY PLAN " + _RUNS.format(condition="started >= ? AND started < ?")
        plan = " ".join(row[3] for row in store.conn.execute(sql, (0, now)))
    finally:
        store.close()
    assert found["bucket"] == "day"
    assert recent["bucket"] == "hour"
    (deploy,) = found["playbooks"]
    # Three days back, then today (two buckets only if the test straddles midnight).
    old, *today = deploy["series"]
    assert (old["runs"], old["success_rate"]) == (1, 0.0)
    assert (sum(p["runs"] for p in today), sum(p["succeeded"] for p in today)) == (2, 1)
    assert all(p["p50_duration"] <= p["p95_duration"] for p in deploy["series"])
    assert found["slowest_tasks"][0]["task"] == "take a while"
    assert [h["host"] for h in found["flakiest_hosts"]] == ["db1"]
    assert found["flakiest_hosts"][0]["failure_rate"] == pytest.approx(2 / 3, abs=0.001)
    assert sum(p["runs"] for p in recent["playbooks"][0]["series"]) == 2
    assert "USING INDEX runs_started" in plan  # a range of the index, not every run


def test_a_line_chart_is_an_accessible_svg_with_its_numbers_as_a_table() -> None:
    day = 86400.0
    markup = line_chart(
        "Success rate of deploy.yml",
        "Share of runs that succeeded, per day.",
        [Series("deploy.yml", [(0.0, 1.0), (day, None), (2 * day, 0.5)])],
        unit=lambda v: f"{v:.0%}",
        y_max=1.0,
    )
    figure = ET.fromstring(str(markup))
    svg = figure.find("{http://www.w3.org/2000/svg}svg")
    assert svg is not None
    assert svg.get("role") == "img"
    title = svg.find("{http://www.w3.org/2000/svg}title")
    assert title is not None
    assert title.text == "Success rate of deploy.yml"
    labelled = (svg.get("aria-labelledby") or "").split()
    assert title.get("id") in labelled
    assert "style" not in str(markup)  # the CSP forbids inline styles
    # The gap day splits the line in two; the table has every day, the gap empty.
    assert str(markup).count("<polyline") == 2
    cells = [[c.text or "" for c in row] for row in figure.iter("tr")][1:]
    assert cells == [["1970-01-01", "100%"], ["1970-01-02", ""], ["1970-01-03", "50%"]]


@pytest.mark.parametrize(("buckets", "size", "hourly"), [(8, 86400.0, False), (49, 3600.0, True)])
def test_time_labels_never_overlap_and_the_newest_is_shown(
    buckets: int, size: float, hourly: bool
) -> None:
    # A week is eight daily buckets; two days, 49 hourly ones.
    points = [(i * size, 0.5) for i in range(buckets)]
    markup = line_chart("t", "d", [Series("s", points)], y_max=1.0, hourly=hourly)
    svg = ET.fromstring(str(markup)).find("{http://www.w3.org/2000/svg}svg")
    assert svg is not None
    spans = []
    for text in svg.iter("{http://www.w3.org/2000/svg}text"):
        if text.get("class") != "plot-tick" or text.get("y") != str(HEIGHT - BOTTOM + 16):
            continue  # a y-axis label
        x, width = float(text.get("x", 0)), 6.5 * len(text.text or "")  # 11 px text
        shift = {"start": 0.0, "middle": width / 2, "end": width}[text.get("text-anchor", "")]
        spans.append((x - shift, x - shift + width, text.text))
    spans.sort()
    assert len(spans) >= 3, spans
    assert all(a[1] < b[0] for a, b in itertools.pairwise(spans)), spans
    newest = "1970-01-08" if not hourly else "01-03 00:00"
    assert spans[-1][2] == newest


def test_a_bar_chart_escapes_its_labels_and_says_when_it_is_empty() -> None:
    markup = str(bar_chart("Slowest tasks", "Mean seconds.", [Bar("<script>", 2.0, "2.0 s")]))
    assert "<script>" not in markup
    assert "&lt;script&gt;" in markup
    ET.fromstring(markup)  # well-formed
    assert "no finished runs" in str(bar_chart("Slowest tasks", "Mean seconds.", []))


SPECS_PLAY = """
params:
  version: {type: string, pattern: "^\\\\d+\\\\.\\\\d+$", description: the release}
  drain: {type: integer, minimum: 0, maximum: 600, default: 30}
  env: {enum: [staging, production], default: staging}
  canary: {type: boolean, default: false}
  hosts: {type: array, items: {type: string}, default: []}
  token: {type: string, secret: true}
"""


def _specs(declared: dict[str, Any]) -> dict[str, ParamSpec]:
    """The params of a play declaring ``declared``, as the loader collects them."""
    return collect_params([SimpleNamespace(params=declared, location=None)])


@pytest.fixture
def specs() -> dict[str, ParamSpec]:
    import yaml

    return _specs(yaml.safe_load(SPECS_PLAY)["params"])


def test_the_form_has_one_field_per_param_of_the_right_kind(specs) -> None:
    fields = {f.name: f for f in form_fields(specs)}
    assert {n: f.kind for n, f in fields.items()} == {
        "version": "text",
        "drain": "number",
        "env": "select",
        "canary": "checkbox",
        "hosts": "textarea",
        "token": "password",
    }
    assert fields["version"].required
    assert not fields["drain"].required
    assert fields["drain"].value == "30"
    assert dict(fields["drain"].attrs) == {
        "step": "1",
        "min": "0",
        "max": "600",
    }
    assert fields["env"].choices == ("staging", "production")
    assert fields["hosts"].value == "[]"
    assert "the release" in fields["version"].help


def test_submitted_text_becomes_typed_params(specs) -> None:
    values, problems = params_from_form(
        specs,
        {
            "version": "1.2",
            "drain": "45",
            "env": "production",
            "canary": "true",
            "hosts": '["web1"]',
            "token": "hunter2",
            "csrf": "x",
        },
    )
    assert problems == {}
    assert values == {
        "version": "1.2",
        "drain": 45,
        "env": "production",
        "canary": True,
        "hosts": ["web1"],
        "token": "hunter2",
    }
    assert loads_json('["web1"]') == values["hosts"]


def test_each_bad_field_has_its_own_message_and_secrets_are_not_echoed(specs) -> None:
    form = {"version": "one", "drain": "9999", "token": "hunter2"}
    _values, problems = params_from_form(specs, form)
    assert set(problems) == {"version", "drain"}
    assert "does not match" in problems["version"][0]
    assert "600" in problems["drain"][0]
    fields = {f.name: f for f in form_fields(specs, form, problems)}
    assert fields["version"].value == "one"
    assert fields["version"].errors
    assert fields["token"].value == ""  # typed again, never sent back
    assert fields["canary"].checked is False
    _, missing = params_from_form(specs, {})
    assert missing["version"] == ["required (the release)"]


def test_an_unticked_checkbox_is_false_and_a_choice_keeps_its_type() -> None:
    specs = _specs(
        {
            "canary": {"type": "boolean"},
            "shards": {"enum": [1, 2, 4]},
            "note": {"type": "string", "default": "none"},
        }
    )
    values, problems = params_from_form(specs, {"shards": "4", "note": ""})
    assert problems == {}
    assert values == {"canary": False, "shards": 4, "note": "none"}  # empty: the default
    fields = {f.name: f for f in form_fields(specs)}
    assert not fields["canary"].required  # unticked is an answer too
    assert fields["shards"].choices == ("1", "2", "4")
    assert fields["shards"].required
    _, problems = params_from_form(specs, {"shards": "3"})
    assert problems["shards"] == ["'3' is not one of [1, 2, 4]"]


def test_the_value_axis_ends_on_a_round_number() -> None:
    markup = line_chart("t", "d", [Series("p95", [(0.0, 0.007), (86400.0, 0.003)])])
    svg = ET.fromstring(str(markup)).find("{http://www.w3.org/2000/svg}svg")
    assert svg is not None
    labels = [
        text.text
        for text in svg.iter("{http://www.w3.org/2000/svg}text")
        if text.get("class") == "plot-tick"
        and text.get("text-anchor") == "end"
        and text.get("y") != str(HEIGHT - BOTTOM + 16)
    ]
    assert labels == ["0", "0.002", "0.004", "0.006", "0.008"]
