"""The user-facing docs stand on their own: they cite no file outside the repository."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Files the project's maintainers keep next to the repository, which users never get.
OUTSIDE = re.compile(r"\b(?:DESIGN|STYLE|SERVICES)(?:\.md)?\b|\.\./shared\b|/work/")


def _user_docs() -> list[Path]:
    return [
        ROOT / "README.md",
        *sorted((ROOT / "docs").rglob("*.md")),
        *sorted((ROOT / "examples").rglob("README.md")),
    ]


@pytest.mark.parametrize("path", _user_docs(), ids=lambda p: str(p.relative_to(ROOT)))
def test_docs_cite_nothing_outside_the_repository(path: Path) -> None:
    cited = [
        f"{path.name}:{number}: {line.strip()}"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert cited == []


def test_the_pattern_catches_what_users_do_not_have() -> None:
    assert OUTSIDE.search("see DESIGN.md, section 3")
    assert OUTSIDE.search("as STYLE.md says")
    assert OUTSIDE.search("[services](../shared/SERVICES.md)")
    assert not OUTSIDE.search("the design of the run store")
