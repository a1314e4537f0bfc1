"""The real-world corpus: public playbooks and roles, unchanged, through corral and Ansible.

One test per case of ``cases.yml`` (corpus.py says what each mode runs). A case that
``cases.yml`` expects to fail is a strict xfail whose reason names the missing feature,
so a case that starts passing after a merge fails here until its ``expect`` is flipped.
All cases run in parallel, once, in a module-scoped fixture.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest
from conftest import need
from corpus import BIN, CONTENT, HERE, Case, Outcome, load_cases, run_all

CASES = load_cases()
# All cases run once, in the fixture, inside the first test's time limit; a loaded
# machine (the runs are CPU-bound) can take several minutes.
pytestmark = pytest.mark.timeout(1200)


def _selected(session: pytest.Session) -> list[Case]:
    wanted = set()
    for item in session.items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and isinstance(callspec.params.get("case"), Case):
            wanted.add(callspec.params["case"].name)
    return [c for c in CASES if c.name in wanted]


def _cost(case: Case) -> int:
    """Start the slow cases first: real runs with both tools, then check-mode runs."""
    return {"real-run-compare": 3, "check-mode-run": 2}.get(case.mode, 1)


@pytest.fixture(scope="module")
def outcomes(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Outcome]:
    if not (BIN / "ansible-playbook").exists():
        pytest.fail("ansible-core is a test dependency: pip install -e '.[dev]'")
    cases = sorted(_selected(request.session), key=_cost, reverse=True)
    workers = max(2, 2 * (os.cpu_count() or 1))
    done = run_all(cases, tmp_path_factory.mktemp("realworld"), workers)
    return {outcome.case.name: outcome for outcome in done}


def _params() -> list[Any]:
    params = []
    for case in CASES:
        marks = []
        if case.expect == "xfail":
            marks.append(pytest.mark.xfail(strict=True, reason=case.reason))
        params.append(pytest.param(case, id=case.name, marks=marks))
    return params


@pytest.mark.parametrize("case", _params())
def test_realworld_case(case: Case, outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes[case.name]
    need(not outcome.skipped, outcome.skipped)
    details = "\n".join(outcome.details)[-6000:]
    assert outcome.passed, "; ".join(outcome.problems) + "\n" + details


def test_the_corpus_is_big_and_varied() -> None:
    """At least 30 cases from several sources; every mode used; 25 expected to pass."""
    assert len(CASES) >= 30
    assert len({c.source for c in CASES}) >= 5
    assert {c.mode for c in CASES} == {"check-only", "check-mode-run", "real-run-compare"}
    passing = [c for c in CASES if c.expect == "pass"]
    assert len(passing) >= 25


def test_every_source_is_recorded() -> None:
    """Each content directory has a section in SOURCES.md, with its licence's text."""
    sources = (HERE / "SOURCES.md").read_text()
    for directory in sorted(p.name for p in CONTENT.iterdir() if p.is_dir()):
        assert f"`content/{directory}/`" in sources, f"{directory} is not in SOURCES.md"
    for licence in sorted((HERE / "LICENSES").iterdir()):
        assert f"LICENSES/{licence.name}" in sources, f"{licence.name} is cited nowhere"


def test_content_is_unchanged() -> None:
    """Every content file is byte for byte the upstream file that content.lock names.

    content.lock records each file's git blob id, so a copy can also be checked against
    the source repository at the recorded commit (``git rev-parse COMMIT:PATH``).
    """
    recorded = {}
    for line in (HERE / "content.lock").read_text().splitlines():
        if line and not line.startswith("#"):
            blob, name, _origin = line.split("  ")
            recorded[name] = blob
    # (Python writes __pycache__ beside the test plugins ansible-playbook imports.)
    present = {
        p.relative_to(CONTENT).as_posix(): p
        for p in CONTENT.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert sorted(present) == sorted(recorded), "content/ and content.lock list other files"
    changed = [name for name, path in present.items() if _git_blob_id(path) != recorded[name]]
    assert not changed, f"content files changed (the corpus is used unchanged): {changed}"


def _git_blob_id(path: Path) -> str:
    data = path.read_bytes()
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def test_cases_name_existing_inventories() -> None:
    for case in CASES:
        if case.inventory.startswith("ssh:"):
            assert (HERE / case.inventory.removeprefix("ssh:")).exists(), case.name
            continue
        if not case.inventory:
            assert case.cwd, f"{case.name}: no inventory, and no cwd whose ansible.cfg names one"
            continue
        if case.inventory.startswith("source:"):
            path = CONTENT / case.source / case.inventory.removeprefix("source:")
        else:
            path = HERE / case.inventory
        assert Path(path).exists(), f"{case.name}: no inventory {case.inventory}"
