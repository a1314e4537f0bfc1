"""The web UI in a real browser: Debian's Chromium (Playwright) on a real ``corral serve``.

What a user does with a mouse and a keyboard: log in, start a run and watch it finish
without reloading, approve a waiting run, cancel one, get a validation error next to its
field, come back after a server restart, move around with the keyboard. Every page is
checked by axe-core (serious and critical violations fail) and screenshot
(``CORRAL_UI_SHOTS=1`` writes the pictures docs/ui.md shows). The ``page`` fixture fails a
test whose page logged a console error or a Content-Security-Policy violation.
"""

from __future__ import annotations

import re
import time

from browser import log_in
from playwright.sync_api import expect
from served import Served, wait_for

# A run that waits until the test lets it go: the test sees it running for as long as it
# needs (no race with a fast machine), then creates the gate file in the project.
GATED = """
- hosts: all
  gather_facts: false
  params:
    version: {type: string, pattern: "^[0-9.]+$", description: "the version to deploy"}
  tasks:
    - name: say hello
      command: echo hello
    - name: wait for the gate
      shell: "for i in $(seq 600); do [ -e gate ] && exit 0; sleep 0.1; done; exit 1"
    - name: say goodbye
      command: echo goodbye
"""


def start(api, playbook: str = "deploy.yml", **params: str) -> str:
    """Start ``playbook`` through the API (as another user would); its run id."""
    answer = api.post("/api/v1/runs", json={"playbook": playbook, "params": params})
    assert answer.status_code == 202, answer.text
    return str(answer.json()["run_id"])


def test_the_login_page_refuses_a_wrong_token(
    served: Served, page, page_errors, shoot, axe_check
) -> None:
    served.start()
    page.goto(served.url + "/")
    expect(page).to_have_url(re.compile(r"/login"))
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    axe_check(page)
    shoot(page, "login")
    page_errors.allow("status of 401")  # the login page answers 401 with the form again
    page.get_by_label("Token").fill("corral_not_a_token")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text(re.compile(r"^Unknown or revoked token: .+"))
    expect(page.get_by_label("Token")).to_be_visible()
    axe_check(page)


def test_a_run_started_from_the_form_is_followed_live_until_it_succeeds(
    served: Served, page, login, shoot, axe_check
) -> None:
    served.project.write("deploy.yml", GATED)
    served.start()
    login(page, served, "run")
    page.goto(served.url + "/playbooks/deploy.yml")
    page.get_by_label("version").fill("1.2")
    page.get_by_role("button", name="Check").click()
    expect(page.get_by_role("heading", name="Check")).to_be_visible()
    page.get_by_role("button", name="Plan").click()  # what would run, before it runs
    expect(page.get_by_role("heading", name="Plan")).to_be_visible()
    expect(page.locator(".result pre")).to_contain_text("wait for the gate")
    expect(page.get_by_label("version")).to_have_value("1.2")  # kept across both
    axe_check(page)
    shoot(page, "playbook")
    with served.client(served.token("read", "look")) as api:
        assert api.get("/api/v1/runs").json() == []  # neither started a run
    page.get_by_role("button", name="Start").click()
    page.wait_for_url(re.compile(r"/runs/[^/]+$"))
    status = page.locator("h1 .status")
    expect(status).to_have_text("running", timeout=30_000)
    expect(page.locator(".current-task")).to_have_text("wait for the gate", timeout=30_000)
    expect(page.get_by_text("version=1.2")).to_be_visible()
    axe_check(page)
    shoot(page, "run-live")
    page.evaluate("window.stillTheSamePage = true")  # gone if the page reloads
    (served.project.path / "gate").touch()
    expect(status).to_have_text("succeeded", timeout=30_000)
    assert page.evaluate("window.stillTheSamePage === true"), "the page was reloaded"
    recap = page.locator("table.recap tbody tr")
    expect(recap).to_have_count(1)
    expect(recap.first).to_contain_text("localhost")
    axe_check(page)
    shoot(page, "run-finished")


def test_a_bad_param_is_shown_next_to_its_field(served: Served, page, page_errors, login) -> None:
    served.project.write("deploy.yml", GATED)
    served.start()
    login(page, served, "run")
    page_errors.allow("status of 422")  # the form comes back with 422 and its messages
    page.goto(served.url + "/playbooks/deploy.yml")
    page.get_by_label("version").fill("x!")
    page.get_by_role("button", name="Start").click()
    field = page.get_by_label("version")
    expect(field).to_have_value("x!")  # what was typed is kept
    expect(field).to_have_attribute("aria-invalid", "true")
    error_id = page.evaluate(
        """() => {
          const input = document.querySelector('[aria-invalid="true"]');
          const ids = (input.getAttribute('aria-describedby') || '').split(' ');
          return ids.find((id) => id.endsWith('-error')) || '';
        }"""
    )
    assert error_id, "the field is not described by its error message"
    message = page.locator(f"#{error_id}")
    expect(message).to_be_visible()
    expect(message).to_contain_text("^[0-9.]+$")
    # Next to its field: in the same field box, right under the input.
    same_box = page.evaluate(
        f"document.getElementById('{error_id}').closest('.field')"
        " === document.querySelector('[aria-invalid=\"true\"]').closest('.field')"
    )
    assert same_box, "the message is not next to its field"
    expect(page.get_by_role("alert")).to_contain_text("1 field to fix")
    with served.client(served.token("read", "look")) as api:
        assert api.get("/api/v1/runs").json() == []  # nothing started


APPROVED = """
- hosts: all
  gather_facts: false
  tasks:
    - approval: {message: "Ship it?", timeout: 5m}
    - name: shipped
      command: echo shipped
"""


def test_a_waiting_run_is_approved_from_the_inbox(
    served: Served, page, login, shoot, axe_check
) -> None:
    served.project.write("ship.yml", APPROVED)
    served.start()
    with served.client(served.token("run", "alice")) as api:
        run_id = start(api, "ship.yml")
        wait_for(lambda: api.get("/api/v1/approvals").json(), 60, "the approval")
    login(page, served, "approve")
    page.goto(served.url + "/approvals")
    row = page.get_by_role("row").filter(has_text="Ship it?")
    expect(row).to_be_visible()
    expect(row).to_contain_text("token:alice")
    axe_check(page)
    shoot(page, "approvals")
    row.get_by_label("Comment").fill("looks good")
    row.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("status")).to_be_visible()
    expect(page.get_by_text("No run is waiting for an approval.")).to_be_visible()
    page.goto(f"{served.url}/runs/{run_id}")
    expect(page.locator("h1 .status")).to_have_text("succeeded", timeout=30_000)
    history = page.get_by_role("row").filter(has_text="Ship it?")
    expect(history).to_contain_text("approved")
    expect(history).to_contain_text("looks good")


def test_a_running_run_is_cancelled_then_resumed_from_its_page(served: Served, page, login) -> None:
    served.project.write("deploy.yml", GATED)
    served.start()
    login(page, served, "run")
    with served.client(served.token("run", "api")) as api:
        run_id = start(api, version="1.0")
    page.goto(f"{served.url}/runs/{run_id}")
    status = page.locator("h1 .status")
    expect(status).to_have_text("running", timeout=30_000)
    page.get_by_label(re.compile("^Grace")).fill("1")
    page.get_by_role("button", name="Cancel run").click()
    expect(status).to_have_text("cancelled", timeout=30_000)
    # Resume it from the same page: it runs again to its end.
    page.get_by_role("button", name="Resume run").click()
    expect(page.get_by_role("status").filter(has_text="Resuming")).to_be_visible()
    (served.project.path / "gate").touch()
    with served.client(served.token("read", "look")) as api:
        served.wait_status(api, run_id, {"succeeded"})
    page.reload()  # see the next test: the page does not follow the resumed run by itself
    expect(status).to_have_text("succeeded")


def test_a_resumed_run_is_followed_live_from_its_page(served: Served, page, login) -> None:
    served.project.write("deploy.yml", GATED)
    served.start()
    login(page, served, "run")
    with served.client(served.token("run", "api")) as api:
        run_id = start(api, version="1")
        served.wait_status(api, run_id, {"running"})
        api.post(f"/api/v1/runs/{run_id}/cancel", json={"grace": 0})
        served.wait_status(api, run_id, {"cancelled"})
    page.goto(f"{served.url}/runs/{run_id}")
    page.get_by_role("button", name="Resume run").click()
    (served.project.path / "gate").touch()
    expect(page.locator("h1 .status")).to_have_text("succeeded", timeout=20_000)


NIGHTLY = """
- hosts: all
  gather_facts: false
  locks: [backup-slot]
  triggers:
    - cron: {schedule: "30 2 * * *", timezone: UTC}
  tasks:
    - name: back up
      shell: "for i in $(seq 600); do [ -e gate-nightly ] && exit 0; sleep 0.1; done; exit 1"
"""
BROKEN = """
- hosts: all
  gather_facts: false
  tasks:
    - name: fail on purpose
      command: "false"
"""
PAGES = {
    "runs": "/",
    "playbooks": "/playbooks",
    "triggers": "/triggers",
    "locks": "/locks",
    "stats": "/stats",
}


def one_run_each(served: Served, api) -> None:
    """A run of deploy.yml that succeeds and one of broken.yml that fails, waited for."""
    (served.project.path / "gate").touch()
    served.wait_status(api, start(api, version="1.0"), {"succeeded"})
    served.wait_status(api, start(api, "broken.yml"), {"failed"})


def test_every_page_with_real_data(served: Served, page, login, shoot, axe_check) -> None:
    """A project with finished runs, a failed one and a running one holding a lock: each
    page shows them, passes axe-core, and is screenshot for the docs."""
    served.project.write("deploy.yml", GATED)
    served.project.write("nightly.yml", NIGHTLY)
    served.project.write("broken.yml", BROKEN)
    served.start()
    with served.client(served.token("run", "api")) as api:
        one_run_each(served, api)
        running = start(api, "nightly.yml")
        served.wait_status(api, running, {"running"})
        wait_for(lambda: api.get("/api/v1/locks").json(), 30, "the run's leases")
    login(page, served, "run")
    shown = {
        "runs": running,
        "playbooks": "nightly.yml",
        "triggers": "30 2 * * *",
        "locks": "backup-slot",
        "stats": "broken.yml",
    }
    for name, path in PAGES.items():
        page.goto(served.url + path)
        expect(page.locator("main")).to_contain_text(shown[name])
        current = page.get_by_role("navigation", name="Main").locator("[aria-current=page]")
        expect(current).to_have_text(name.capitalize())
        axe_check(page)
        shoot(page, name)
    # A button that changes something, in the browser: the trigger's switch (a form POST
    # with its CSRF field), back on the same page with the new state and a notice.
    page.goto(served.url + "/triggers")
    page.get_by_role("button", name="Switch off the cron trigger of nightly.yml").click()
    expect(page.get_by_role("status")).to_be_visible()
    expect(page.get_by_text("switched off", exact=True)).to_be_visible()
    expect(
        page.get_by_role("button", name="Switch on the cron trigger of nightly.yml")
    ).to_be_visible()
    (served.project.path / "gate-nightly").touch()


# Each text of each plot that sticks out of its SVG (the SVG clips it: a user sees it cut).
TEXT_OUTSIDE_ITS_SVG = """() => [...document.querySelectorAll('svg')].flatMap((svg) => {
  const box = svg.getBoundingClientRect();
  return [...svg.querySelectorAll('text')]
    .filter((t) => {
      const r = t.getBoundingClientRect();
      return r.right > box.right + 0.5 || r.left < box.left - 0.5;
    })
    .map((t) => t.textContent);
})"""


def test_the_stats_plots_keep_their_labels_inside(served: Served, page, login) -> None:
    served.project.write("deploy.yml", GATED)
    served.project.write("broken.yml", BROKEN)
    served.start()
    with served.client(served.token("run", "api")) as api:
        one_run_each(served, api)
    login(page, served, "read")
    page.goto(served.url + "/stats")
    expect(page.locator("svg").first).to_be_visible()
    assert page.evaluate(TEXT_OUTSIDE_ITS_SVG) == []


def test_after_a_server_restart_the_page_still_works(served: Served, page, login) -> None:
    served.start()
    login(page, served, "read")
    page.goto(served.url + "/")
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    served.stop()
    served.start()
    page.reload()
    # The session key is kept in a file by the store, so the cookie is still good; a
    # login page would be acceptable too, an error page is not.
    main = page.locator("main")
    expect(main).to_be_visible()
    assert "/login" not in page.url, "the session did not survive the restart"
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    wait_for(lambda: page.title().endswith("corral"), 10, "the page's title")


def test_the_keyboard_reaches_everything_in_order(served: Served, page, login) -> None:
    served.start()
    login(page, served, "read")
    page.goto(served.url + "/")
    page.keyboard.press("Tab")
    assert focused_name(page) == "Skip to main content"
    assert focus_is_visible(page), "the skip link has no visible focus"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    # From the top of a fresh page, Tab goes through the brand, the nav in its order,
    # then log out, and on into the page's own controls, every one with a visible focus.
    page.goto(served.url + "/")
    order = []
    for _ in range(14):
        page.keyboard.press("Tab")
        order.append(focused_name(page))
        assert focus_is_visible(page), f"no visible focus on {order[-1]!r} (after {order})"
    nav = ["Runs", "Approvals", "Playbooks", "Triggers", "Locks", "Stats"]
    assert order[:9] == ["Skip to main content", "corral", *nav, "Log out"], order


def test_a_run_is_started_with_the_keyboard_alone(served: Served, page, login) -> None:
    served.project.write("deploy.yml", GATED)
    (served.project.path / "gate").touch()
    served.start()
    login(page, served, "run")
    page.goto(served.url + "/playbooks/deploy.yml")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # the skip link: past the navigation, into the page
    order = []
    for _ in range(5):
        page.keyboard.press("Tab")
        order.append(focused_name(page))
        assert focus_is_visible(page), f"no visible focus on {order[-1]!r} (after {order})"
        if order[-1].startswith("version"):
            page.keyboard.type("2.0")
    assert order == ["← Playbooks", "version (required)", "Check", "Plan", "Start"], order
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/runs/[^/]+$"))
    expect(page.locator("h1 .status")).to_have_text("succeeded", timeout=30_000)
    expect(page.get_by_text("version=2.0")).to_be_visible()


def test_pages_read_fine_without_javascript(served: Served, browser) -> None:
    served.project.write("deploy.yml", GATED)
    served.start()
    with served.client(served.token("run", "api")) as api:
        run_id = start(api, version="1")
        served.wait_status(api, run_id, {"running"})
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1280, "height": 800}
    )
    try:
        page = context.new_page()
        log_in(page, served, "read")  # a plain form POST
        page.goto(f"{served.url}/runs/{run_id}")
        expect(page.locator("h1 .status")).to_have_text("running")
        # Without its script the page does not change by itself: reload as a reader would
        # until the run has reached the gate (it may be saying hello still).
        deadline = time.monotonic() + 30
        while page.locator(".current-task").all_text_contents() != ["wait for the gate"]:
            assert time.monotonic() < deadline, "the run never showed its gate task"
            time.sleep(0.2)
            page.reload()
        # A read token sees the run, and no button it may not press.
        expect(page.get_by_role("button", name="Cancel run")).to_have_count(0)
        (served.project.path / "gate").touch()
        with served.client(served.token("read", "look")) as api:
            served.wait_status(api, run_id, {"succeeded"})
        page.get_by_role("link", name="Refresh").click()  # what the script does, by hand
        expect(page.locator("h1 .status")).to_have_text("succeeded")
        expect(page.locator("table.recap tbody tr")).to_have_count(1)
        page.goto(served.url + "/")
        expect(page.get_by_role("link", name=run_id)).to_be_visible()
    finally:
        context.close()


def focused_name(page) -> str:
    """What a screen reader would call the focused element: its label, else its text."""
    return str(
        page.evaluate(
            """() => {
              const e = document.activeElement;
              const label = e.labels && e.labels.length ? e.labels[0].textContent : '';
              return (e.getAttribute('aria-label') || label || e.textContent || e.tagName)
                .trim().replace(/\\s+/g, ' ');
            }"""
        )
    )


def focus_is_visible(page) -> bool:
    """The focused element draws an outline (or a box shadow) a sighted user can see."""
    return bool(
        page.evaluate(
            """() => {
              const s = getComputedStyle(document.activeElement);
              const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0;
              return outline || (s.boxShadow && s.boxShadow !== 'none');
            }"""
        )
    )
