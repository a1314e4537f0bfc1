"""The web UI's live view of a big run, in a real browser: does it keep up?

    .venv/bin/python bench/bench_ui_live.py [--hosts 1000] [--forks 50] [--rtt 0.05]
        [--rounds 1]

A real ``corral serve`` runs a playbook of 5 tasks over ``--hosts`` hosts of the
simulated connection. While it runs, two clients watch it:

- Debian's Chromium (Playwright, headless), logged in through the login form, on the
  run's page: its own script follows the run's event stream and swaps in the view the
  server renders. A MutationObserver notes the time of every change of the view. The
  page must end showing the finished view with all hosts in the per-host results, each
  with its 5 tasks ok, without a reload.
- A plain client of the same event stream (``/runs/RUN/events``, the page's session
  cookie): the events it received against those the store holds once the run ended.

Reported per round: the run's duration, the events delivered against stored, the view
updates the page made while the run ran, and the time from the run's end (its ``ended``
in the store) to the page's last update and to the page showing every host. Prints
Markdown for the "Web UI" section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import httpx
from bench_serve import start_server, stop_server
from bench_ui import LIVE_PLAYBOOK

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from browser import CHROMIUM, CHROMIUM_FLAGS, VIEWPORT

TASKS = 5  # the tasks of bench_ui's LIVE_PLAYBOOK
# Notes when the run's view changes (the script swaps it in), in the page's clock
# (Date.now(): the same machine's clock as the store's times).
WATCH = """
window.viewChanges = [];
document.addEventListener('DOMContentLoaded', () => {
  const box = document.getElementById('run');
  if (!box) return;
  new MutationObserver(() => window.viewChanges.push(Date.now()))
    .observe(box, {childList: true, subtree: true, characterData: true});
});
"""
# All hosts in the finished view's per-host results, each with every task ok.
ALL_DONE = """([hosts, tasks]) => {
  const rows = document.querySelectorAll('table.recap tbody tr');
  if (rows.length !== hosts) return false;
  for (const row of rows) {
    const cells = row.querySelectorAll('td');
    if (cells[0].textContent.trim() !== String(tasks)) return false;  // ok
    if (cells[3].textContent.trim() !== '0') return false;           // failed
  }
  return Date.now();
}"""


def project(tmp: Path, hosts: int, forks: int, rtt: float) -> tuple[Path, dict[str, str], str]:
    """A project serving fleet.yml over ``hosts`` simulated hosts; its env and a token."""
    from corral.store import Store
    from corral_plugins.server.tokens import create_token

    home, path = tmp / "home", tmp / "project"
    home.mkdir(mode=0o700)  # the store refuses to stay readable by others
    path.mkdir()
    (path / "hosts.ini").write_text(
        f"[sim]\nnode[0000:{hosts - 1:04d}]\n\n[sim:vars]\n"
        f"ansible_connection=simulated\ncorral_simulated_rtt={rtt}\n"
    )
    (path / "ansible.cfg").write_text(f"[defaults]\ninventory = hosts.ini\nforks = {forks}\n")
    (path / "fleet.yml").write_text(LIVE_PLAYBOOK)
    store = Store(home / "corral.db")
    token = create_token(store, "run", "bench")[1]
    store.close()
    return path, {"CORRAL_HOME": str(home)}, token


def follow(url: str, cookies: httpx.Cookies, run_id: str, found: dict[str, Any]) -> None:
    """Count the events the UI's stream delivers for ``run_id`` until its ``end``."""
    received = 0
    with (
        httpx.Client(base_url=url, cookies=cookies, timeout=600) as client,
        client.stream("GET", f"/runs/{run_id}/events") as stream,
    ):
        for line in stream.iter_lines():
            if line.startswith("event: end"):
                break
            if line.startswith("data: "):
                received += 1
    found["received"] = received


def stored_events(api: httpx.Client, run_id: str) -> int:
    """The events the store holds for the run, as the stream sends them (no raw output)."""
    logged = api.get(f"/api/v1/runs/{run_id}/logs").text.splitlines()
    return sum('"event": "worker_output"' not in line for line in logged)


def one_round(url: str, token: str, hosts: int, browser: Any) -> dict[str, Any]:
    """Start a run, watch it in the browser and on the stream; the round's figures."""
    context = browser.new_context(viewport=VIEWPORT)
    context.add_init_script(WATCH)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(url + "/login")
    page.get_by_label("Token").fill(token)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda u: "/login" not in u)
    cookies = httpx.Cookies()
    for cookie in context.cookies():
        cookies.set(cookie["name"], cookie["value"])
    api = httpx.Client(base_url=url, timeout=60, headers={"Authorization": f"Bearer {token}"})
    run_id = api.post("/api/v1/runs", json={"playbook": "fleet.yml"}).json()["run_id"]
    streamed: dict[str, Any] = {}
    follower = threading.Thread(target=follow, args=(url, cookies, run_id, streamed))
    follower.start()
    page.goto(f"{url}/runs/{run_id}")
    page.evaluate("window.loadedOnce = true")
    shown = page.wait_for_function(ALL_DONE, arg=[hosts, TASKS], timeout=600_000, polling=100)
    all_shown = float(shown.json_value()) / 1000
    follower.join(timeout=120)
    run = api.get(f"/api/v1/runs/{run_id}").json()["run"]
    # The view must settle: nothing changes for a second after everything is shown.
    page.wait_for_timeout(1000)
    changes = [t / 1000 for t in page.evaluate("window.viewChanges")]
    assert page.evaluate("window.loadedOnce === true"), "the page was reloaded"
    found = {
        "status": run["status"],
        "seconds": run["ended"] - run["started"],
        "stored": stored_events(api, run_id),
        "received": streamed.get("received", -1),
        "updates": sum(t <= run["ended"] for t in changes),
        "last_update": max(changes) - run["ended"],
        "all_shown": all_shown - run["ended"],
        "errors": errors,
    }
    api.close()
    context.close()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--forks", type=int, default=50)
    parser.add_argument("--rtt", type=float, default=0.05)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with (
        tempfile.TemporaryDirectory(prefix="corral-bench-ui-live-") as tmp,
        sync_playwright() as playwright,
    ):
        path, env, token = project(Path(tmp), args.hosts, args.forks, args.rtt)
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        server, url = start_server(path, env, log=Path(tmp) / "serve.log")
        try:
            rounds = [one_round(url, token, args.hosts, browser) for _ in range(args.rounds)]
        finally:
            stop_server(server)
            browser.close()
    print(
        f"Live view in Chromium, {args.hosts} simulated hosts x {TASKS} tasks "
        f"({args.rtt * 1000:.0f} ms round trips, {args.forks} forks); a second client on "
        "the same event stream:\n"
    )
    print(
        "| round | run | events delivered / stored | view updates while running "
        "| last update after the end | all hosts shown after the end | console errors |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for n, r in enumerate(rounds, 1):
        print(
            f"| {n} | {r['status']} in {r['seconds']:.1f}s | {r['received']} / {r['stored']} "
            f"| {r['updates']} | {r['last_update']:.2f} s | {r['all_shown']:.2f} s "
            f"| {len(r['errors'])} |"
        )
    print(f"\n(cpus: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f})")


if __name__ == "__main__":
    main()
