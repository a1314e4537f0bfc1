"""The engine's hub: cooperative units of many hosts on one thread, the same results.

Every play keyword that changes how units are scheduled runs once with the hub and
once with ``CORRAL_HUB=off`` (a thread per unit, as before): the events must agree.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import pytest

from corral import StepResult, StepType, cooperative, hookimpl
from corral.testing.fixtures import CorralProject

HOSTS = """
[web]
web[01:40] ansible_connection=simulated corral_simulated_rtt=0.01

[db]
db[1:3] ansible_connection=simulated corral_simulated_rtt=0.01
db4 ansible_connection=simulated corral_simulated_unreachable=true
"""

PLAYBOOK = """
- hosts: web
  gather_facts: false
  serial: [5, 50%]
  tasks:
    - name: write the config
      copy: {content: "v1\\n", dest: /tmp/app.conf}
      notify: restart app
    - name: items with a pause between them
      command: "echo {{ item }}"
      loop: [a, b, c]
      loop_control: {pause: 0.01}
      register: echoed
    - name: retried, never good enough
      command: echo tick
      register: tick
      until: tick.stdout == 'tock'
      retries: 2
      delay: 0.01
      ignore_errors: true
    - name: once for the batch
      command: echo once
      run_once: true
      register: once
    - name: timed
      command: echo quick
      timeout: 5
    - name: delegated
      command: echo from the delegate
      delegate_to: web01
    - name: throttled
      command: echo slowly
      throttle: 2
    - name: what the hosts saw
      debug:
        msg: "{{ echoed.results | map(attribute='stdout') | join(',') }} {{ once.stdout }}"
  handlers:
    - name: restart app
      command: echo restarted

- hosts: db
  gather_facts: false
  any_errors_fatal: false
  tasks:
    - block:
        - command: "false"
          when: inventory_hostname == 'db2'
        - command: echo after
      rescue:
        - debug: {msg: rescued}
    - stat: {path: /tmp/app.conf}
      register: conf
    - assert:
        that: not conf.stat.exists
"""


TIMINGS = frozenset({"start", "end", "delta"})


def _timeless(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _timeless(v) for k, v in sorted(value.items()) if k not in TIMINGS}
    if isinstance(value, list):
        return [_timeless(v) for v in value]
    return value


def _shape(events: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """The run's results, order-insensitive across hosts (timings left out)."""
    found = [
        (e["host"], e["task"], e["status"], repr(_timeless(e["result"])))
        for e in events
        if e["event"] == "task_result"
    ]
    return sorted(found)


@pytest.fixture
def fleet(corral_project: CorralProject) -> CorralProject:
    corral_project.write("hosts.ini", HOSTS)
    corral_project.write("site.yml", PLAYBOOK)
    return corral_project


def test_the_hub_gives_the_same_results_as_a_thread_per_unit(fleet: CorralProject) -> None:
    argv = ("run", "site.yml", "-i", "hosts.ini", "--forks", "20", "--output", "json")
    on = fleet.run(*argv)
    off = fleet.run(*argv, env={"CORRAL_HUB": "off"})
    assert on.exit_code == off.exit_code == 3, on.output
    assert on.recap() == off.recap()
    assert _shape(on.json_lines()) == _shape(off.json_lines())
    recap = on.recap()
    assert recap["db4"]["unreachable"] == 1
    assert recap["db2"]["rescued"] == 1
    # the handler ran on every web host, once
    restarted = [e for e in on.json_lines() if e.get("task") == "restart app"]
    assert len([e for e in restarted if e["event"] == "task_result"]) == 40
    shown = {
        e["host"]: e["result"]["msg"]
        for e in on.json_lines()
        if e["event"] == "task_result" and e["task"] == "what the hosts saw"
    }
    assert set(shown.values()) == {"a,b,c once"}
    assert len(shown) == 40


class _ThreadRecorder:
    """A cooperative third-party step that notes which thread ran it, and waits."""

    def __init__(self) -> None:
        self.threads: set[int] = set()
        self.on_hub: set[bool] = set()

    def run(self, ctx: Any, args: Mapping[str, Any]) -> StepResult:
        self.threads.add(threading.get_ident())
        self.on_hub.add(cooperative.current_hub() is not None)
        ctx.conn.run(["true"])  # a simulated round trip
        return StepResult()

    @hookimpl
    def corral_register_steps(self, register: Any) -> None:
        register(
            StepType(name="note_thread", run=self.run, schema={"type": "object"}, cooperative=True)
        )


@pytest.mark.parametrize(("hub", "one_thread"), [("on", True), ("off", False)])
def test_a_cooperative_step_runs_for_every_host_on_one_thread(
    corral_project: CorralProject, hub: str, one_thread: bool
) -> None:
    recorder = _ThreadRecorder()
    corral_project.plugins.append(recorder)
    corral_project.write(
        "hosts.ini",
        "[sim]\nn[001:200] ansible_connection=simulated corral_simulated_rtt=0.05\n",
    )
    corral_project.write(
        "site.yml",
        "- hosts: sim\n  gather_facts: false\n  tasks:\n    - note_thread: {}\n",
    )
    result = corral_project.run(
        "run", "site.yml", "-i", "hosts.ini", "--forks", "200", env={"CORRAL_HUB": hub}
    )
    assert result.exit_code == 0, result.output
    assert recorder.on_hub == {one_thread}
    if one_thread:
        assert len(recorder.threads) == 1
    else:
        assert len(recorder.threads) > 20


def test_a_blocking_connection_reached_from_the_hub_runs_on_a_helper_thread() -> None:
    from corral.engine.stepcontext import _LazyConnection

    class Blocking:
        host = "h"
        capabilities: frozenset[str] = frozenset()

        def run(self, argv: list[str]) -> int:
            return threading.get_ident()

    hub = cooperative.Hub(limit=1)
    seen: list[tuple[int, int]] = []
    done = threading.Event()

    def unit() -> None:
        conn = _LazyConnection("h", Blocking, threading.Event(), lambda conn: False)
        seen.append((threading.get_ident(), conn.run(["true"])))
        done.set()

    hub.spawn(unit)
    assert done.wait(10)
    hub.close()
    hub_thread, call_thread = seen[0]
    assert hub_thread != call_thread
