"""Host patterns select the same hosts, in the same order, as Ansible's.

The table is checked against ``ansible PATTERN --list-hosts`` (ansible-core),
run on a thread pool, and then the corner cases are checked directly.
"""

from __future__ import annotations

import os
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from subprocess import run

import pytest

from corral.errors import InventoryError, UsageError
from corral.inventory import Inventory, load_inventory
from corral_plugins.inventory import SOURCES

ANSIBLE = Path(sys.executable).with_name("ansible")

# Groups nest at most two levels below the group a pattern names: deeper, Ansible's
# own order depends on set iteration and is not reproducible.
INVENTORY = """
solo
[web]
web[01:06]
[db]
db[1:3]
web06
[cache]
cache1
[prod:children]
web
[prod]
db1
[canary]
web02
db3
[dc-east]
web[01:03]
db1
"""

PATTERNS = [
    ("all", None),
    ("*", None),
    ("web", None),
    ("web:db", None),
    ("db,web", None),
    ("web:&prod", None),
    ("prod:!web0[12]", None),
    ("web*", None),
    ("db?", None),
    ("~web0[24]", None),
    ("~(web|db)0?1", None),
    ("web[0]", None),
    ("web[-1]", None),
    ("web[1:3]", None),
    ("web[2:]", None),
    ("prod[1]", None),
    ("web*[0:1]", None),
    ("nosuch", None),
    ("nosuch:web", None),
    ("localhost", None),
    ("web:&canary:!db*", None),
    ("web01:db1", None),
    ("dc-east:&web", None),
    ("!web", None),
    ("&prod", None),
    ("web01,nosuch,db2", None),
    ("all", "web"),
    ("all", "!web"),
    ("prod", "dc-east:canary"),
    ("all", "@limit.txt"),
    ("web", "@limit.txt"),
]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("patterns")
    (root / "hosts.ini").write_text(textwrap.dedent(INVENTORY))
    (root / "limit.txt").write_text("web0[1:3]\n\ndb*\n!db2\n")
    (root / "home" / ".ansible").mkdir(parents=True)
    return root


@pytest.fixture(scope="module")
def ansible_results(project: Path) -> dict[tuple[str, str | None], list[str]]:
    if not ANSIBLE.exists():
        pytest.fail(f"ansible-core (a test dependency) is not installed: no {ANSIBLE}")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(project / "home"),
        "ANSIBLE_LOCAL_TEMP": str(project / "home" / "tmp"),
        "ANSIBLE_NOCOLOR": "1",
        "LC_ALL": "C.UTF-8",
    }

    def list_hosts(case: tuple[str, str | None]) -> list[str]:
        pattern, limit = case
        command = [sys.executable, str(ANSIBLE), "-i", "hosts.ini", pattern, "--list-hosts"]
        if limit:
            command += ["--limit", limit]
        proc = run(
            command, cwd=project, env=env, capture_output=True, text=True, timeout=120, check=False
        )
        assert proc.returncode == 0, proc.stderr
        lines = proc.stdout.splitlines()
        assert lines[0].strip().startswith("hosts ("), proc.stdout
        return [line.strip() for line in lines[1:]]

    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        return dict(zip(PATTERNS, pool.map(list_hosts, PATTERNS), strict=True))


@pytest.fixture(scope="module")
def inventory(project: Path) -> Inventory:
    return load_inventory(["hosts.ini"], plugin_sources=SOURCES, cwd=project)


@pytest.mark.parametrize(("pattern", "limit"), PATTERNS)
def test_selects_what_ansible_selects(
    inventory: Inventory,
    ansible_results: dict[tuple[str, str | None], list[str]],
    pattern: str,
    limit: str | None,
) -> None:
    assert inventory.select(pattern, limit=limit) == ansible_results[(pattern, limit)]


def test_an_unknown_group_warns_and_matches_nothing(inventory: Inventory) -> None:
    assert inventory.select("web01:nosuchgroup") == ["web01"]
    assert "could not match supplied host pattern, ignoring: nosuchgroup" in inventory.warnings


def test_a_subscript_past_the_end_is_an_error(inventory: Inventory) -> None:
    with pytest.raises(
        InventoryError, match=r"no host matches the subscripted pattern 'web\[40\]'"
    ):
        inventory.select("web[40]")


def test_an_invalid_regex_is_an_error(inventory: Inventory) -> None:
    with pytest.raises(InventoryError, match=r"invalid host pattern '~web\('"):
        inventory.select("~web(")


def test_a_missing_limit_file_is_a_usage_error(inventory: Inventory) -> None:
    with pytest.raises(UsageError, match=r"limit file 'nope\.txt' not found"):
        inventory.select("all", limit="@nope.txt")


def test_a_list_of_patterns_is_accepted(inventory: Inventory) -> None:
    assert inventory.select(["db", "&canary"]) == ["db3"]


def test_a_host_named_like_a_pattern_is_matched_exactly(tmp_path: Path) -> None:
    (tmp_path / "hosts.ini").write_text("[web]\nweb1\nweb1.example.com\n")
    inventory = load_inventory(["hosts.ini"], plugin_sources=SOURCES, cwd=tmp_path)
    assert inventory.select("web1.example.com") == ["web1.example.com"]
    assert inventory.select("web1") == ["web1"]
