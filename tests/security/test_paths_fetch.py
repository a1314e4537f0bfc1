"""``fetch`` keeps every file it writes inside ``dest`` (issue 14, item 6).

Hosts are local-connection hosts whose inventory names are hostile; the path the step
would have written is computed by hand and checked to stay empty, and the task fails for
that host with Ansible's "Detected directory traversal" message.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from corral.testing import CliResult, CorralProject

DEST = "deep/er/out"


def run_fetch(
    corral_project: CorralProject, hosts: list[str], src: str, *, extra: str = ""
) -> CliResult:
    corral_project.write(
        "site.yml",
        f"""
        - hosts: all
          gather_facts: false
          tasks:
            - name: fetch it
              fetch: {{src: "{src}", dest: {DEST}{extra}}}
        """,
    )
    lines = [f"{name} ansible_connection=local" for name in hosts]
    corral_project.write("hosts.ini", "[all]\n" + "\n".join(lines) + "\n")
    return corral_project.run("run", "site.yml", "-i", "hosts.ini")


def files_under(root: Path) -> set[Path]:
    """Files and links under ``root``, leaving out the project's own files and store."""
    ignored = {"site.yml", "hosts.ini"}
    return {
        path
        for path in root.rglob("*")
        if (path.is_file() or path.is_symlink())
        and "corral-home" not in path.parts
        and path.name not in ignored
    }


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "remote" / "data.txt"
    path.parent.mkdir()
    path.write_text("payload\n")
    return path


@pytest.mark.parametrize("host", ["../../x", "..", "../.."])
def test_a_host_named_with_dots_cannot_leave_dest(
    corral_project: CorralProject, source: Path, tmp_path: Path, host: str
) -> None:
    before = files_under(tmp_path)
    result = run_fetch(corral_project, [host], str(source))
    assert result.exit_code == 2, result.output
    assert "Detected directory traversal, expected to be contained in" in result.output
    assert "Traceback" not in result.output
    written = files_under(tmp_path) - before
    assert written == set(), written


def test_an_absolute_host_name_cannot_leave_dest(
    corral_project: CorralProject, source: Path, tmp_path: Path
) -> None:
    target = tmp_path / "abs"
    result = run_fetch(corral_project, [str(target)], str(source))
    assert result.exit_code == 2, result.output
    assert "Detected directory traversal" in result.output
    assert not target.exists()
    assert not (corral_project.path / DEST).exists()


def test_one_hostile_host_fails_alone(
    corral_project: CorralProject, source: Path, tmp_path: Path
) -> None:
    result = run_fetch(corral_project, ["good", "../../bad"], str(source))
    assert result.exit_code == 2, result.output
    result.assert_recap("good", ok=1, changed=1, failed=0)
    result.assert_recap("../../bad", failed=1)
    fetched = corral_project.path / DEST / "good" / str(source).lstrip("/")
    assert fetched.read_text() == "payload\n"
    assert not (corral_project.path / "deep" / "bad").exists()


def test_a_source_with_dots_cannot_leave_the_host_directory(
    corral_project: CorralProject, source: Path, tmp_path: Path
) -> None:
    before = files_under(tmp_path)
    # Above dest (Ansible rejects these too), and into another host's directory.
    for src in ("/../../../x/data.txt", "../../../data.txt", "../other/data.txt"):
        result = run_fetch(corral_project, ["h"], src)
        assert result.exit_code == 2, (src, result.output)
        assert "Detected directory traversal" in result.output, result.output
    assert files_under(tmp_path) - before == set()


def test_a_source_with_dots_that_stays_inside_is_fetched(
    corral_project: CorralProject, source: Path
) -> None:
    src = f"{source.parent}/../{source.parent.name}/{source.name}"
    result = run_fetch(corral_project, ["h"], src)
    assert result.exit_code == 0, result.output
    fetched = corral_project.path / DEST / "h" / str(source).lstrip("/")
    assert fetched.read_text() == "payload\n"


def test_a_symlink_planted_in_dest_is_not_followed(
    corral_project: CorralProject, source: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    out = corral_project.path / DEST
    out.mkdir(parents=True)
    (out / "h").symlink_to(outside)
    result = run_fetch(corral_project, ["h"], str(source))
    assert result.exit_code == 2, result.output
    assert "Detected directory traversal" in result.output
    assert list(outside.iterdir()) == []


def test_flat_with_a_trailing_slash_stays_inside_dest(
    corral_project: CorralProject, source: Path, tmp_path: Path
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep\n")
    out = corral_project.path / "flat"
    out.mkdir()
    (out / source.name).symlink_to(victim)
    corral_project.write(
        "site.yml",
        f"""
        - hosts: all
          gather_facts: false
          tasks:
            - fetch: {{src: "{source}", dest: flat/, flat: true}}
        """,
    )
    corral_project.write("hosts.ini", "[all]\nh ansible_connection=local\n")
    result = corral_project.run("run", "site.yml", "-i", "hosts.ini")
    assert result.exit_code == 2, result.output
    assert "Detected directory traversal" in result.output
    assert victim.read_text() == "keep\n"
    assert (out / source.name).is_symlink()


def test_check_mode_rejects_traversal_too(
    corral_project: CorralProject, source: Path, tmp_path: Path
) -> None:
    corral_project.write(
        "site.yml",
        f"""
        - hosts: all
          gather_facts: false
          tasks:
            - fetch: {{src: "{source}", dest: {DEST}}}
        """,
    )
    corral_project.write("hosts.ini", "[all]\n../../x ansible_connection=local\n")
    result = corral_project.run("run", "site.yml", "-i", "hosts.ini", "--check")
    assert result.exit_code == 2, result.output
    assert "Detected directory traversal" in result.output
