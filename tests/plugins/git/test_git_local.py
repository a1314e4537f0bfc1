"""The git step on local bare repositories (a path and ``file://``), through ``corral run``."""

from __future__ import annotations

from pathlib import Path

import pytest
from gitrepos import Upstream, git, results

from corral.testing import CorralProject


@pytest.fixture
def upstream(tmp_path: Path) -> Upstream:
    return Upstream(tmp_path / "src")


@pytest.fixture
def project(corral_project: CorralProject, tmp_path: Path) -> CorralProject:
    corral_project.env.update({"CORRAL_STORE": "off", "HOME": str(tmp_path)})
    corral_project.write("hosts.ini", "here ansible_connection=local\n")
    return corral_project


def task(args: str, *more: str) -> str:
    lines = ["- hosts: all", "  gather_facts: false", "  tasks:", f"    - git: {args}"]
    lines += ["      register: out", *more]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("scheme", ["", "file://"])
def test_clone_then_idempotent(
    project: CorralProject, upstream: Upstream, tmp_path: Path, scheme: str
) -> None:
    dest = tmp_path / "deep" / "checkout"
    play = task(f"repo={scheme}{upstream.bare} dest={dest}")
    first = results(project, play)[0]
    assert first["status"] == "changed", first
    assert first["result"]["before"] is None
    assert first["result"]["after"] == upstream.second
    assert (dest / "README").read_text() == "two\n"
    second = results(project, play)[0]
    assert second["status"] == "ok", second
    assert second["result"]["before"] == second["result"]["after"] == upstream.second
    assert second["result"]["remote_url_changed"] is False


@pytest.mark.parametrize(
    ("version", "expected", "readme"),
    [("v1", "first", "one\n"), ("light", "first", "one\n"), ("feature", "feature", "two\n")],
)
def test_versions_tags_and_branches(
    project: CorralProject,
    upstream: Upstream,
    tmp_path: Path,
    version: str,
    expected: str,
    readme: str,
) -> None:
    dest = tmp_path / "co"
    play = task(f"repo={upstream.bare} dest={dest} version={version}")
    first = results(project, play)[0]
    assert first["status"] == "changed"
    assert first["result"]["after"] == getattr(upstream, expected)
    assert (dest / "README").read_text() == readme
    assert results(project, play)[0]["status"] == "ok"


def test_moving_between_versions_and_a_sha(
    project: CorralProject, upstream: Upstream, tmp_path: Path
) -> None:
    dest = tmp_path / "co"
    results(project, task(f"repo={upstream.bare} dest={dest}"))
    by_sha = results(project, task(f"repo={upstream.bare} dest={dest} version={upstream.first}"))
    assert by_sha[0]["status"] == "changed"
    assert (by_sha[0]["result"]["before"], by_sha[0]["result"]["after"]) == (
        upstream.second,
        upstream.first,
    )
    again = results(project, task(f"repo={upstream.bare} dest={dest} version={upstream.first}"))
    assert again[0]["status"] == "ok"
    back = results(project, task(f"repo={upstream.bare} dest={dest} version=main"))
    assert back[0]["status"] == "changed"
    assert git(dest, "rev-parse", "--abbrev-ref", "HEAD") == "main"


def test_update_follows_the_remote_and_check_mode_uses_ls_remote(
    project: CorralProject, upstream: Upstream, tmp_path: Path
) -> None:
    dest = tmp_path / "co"
    play = task(f"repo={upstream.bare} dest={dest}")
    results(project, play)
    newer = upstream.push("NEWS", "three\n")
    checked = results(project, play, "--check")[0]
    assert checked["status"] == "changed"
    assert checked["result"]["before"] == upstream.second
    assert checked["result"]["after"] == newer
    assert git(dest, "rev-parse", "HEAD") == upstream.second  # nothing moved
    assert not (dest / "NEWS").exists()
    assert results(project, play)[0]["result"]["after"] == newer
    assert (dest / "NEWS").read_text() == "three\n"
    assert results(project, play, "--check")[0]["status"] == "ok"


def test_check_mode_before_the_clone_reports_the_remote_head(
    project: CorralProject, upstream: Upstream, tmp_path: Path
) -> None:
    dest = tmp_path / "co"
    out = results(project, task(f"repo={upstream.bare} dest={dest} version=v1"), "--check")[0]
    assert out["status"] == "changed"
    assert out["result"]["after"] == upstream.first
    assert not dest.exists()


def test_local_modifications_fail_without_force(
    project: CorralProject, upstream: Upstream, tmp_path: Path
) -> None:
    dest = tmp_path / "co"
    play = task(f"repo={upstream.bare} dest={dest}")
    results(project, play)
    (dest / "README").write_text("edited by hand\n")
    refused = results(project, play)[0]
    assert refused["status"] == "failed"
    assert refused["result"]["msg"] == (
        f"Local modifications exist in the destination: {dest} (force=no)."
    )
    assert (dest / "README").read_text() == "edited by hand\n"
    forced = results(project, task(f"repo={upstream.bare} dest={dest} force=yes"))[0]
    assert forced["status"] == "changed"
    assert (dest / "README").read_text() == "two\n"
    (dest / "untracked").write_text("x")  # untracked files are not local modifications
    assert results(project, play)[0]["status"] == "ok"


def test_shallow_clone_and_single_branch(
    project: CorralProject, upstream: Upstream, tmp_path: Path
) -> None:
    dest = tmp_path / "co"
    play = task(f"repo=file://{upstream.bare} dest={dest} depth=1 single_branch=yes version=main")
    assert results(project, play)[0]["status"] == "changed"
    assert git(dest, "rev-list", "--count", "HEAD") == "1"
    assert "feature" not in git(dest, "branch", "-r")
    assert results(project, play)[0]["status"] == "ok"
    newer = upstream.push("NEWS", "three\n")
    moved = results(project, play)[0]
    assert moved["status"] == "changed"
    assert moved["result"]["after"] == newer
    assert git(dest, "rev-list", "--count", "HEAD") == "1"
    head = task(f"repo=file://{upstream.bare} dest={dest} depth=1")
    assert results(project, head)[0]["status"] == "ok"


def test_bare_clone_and_update_false(
    project: CorralProject, upstream: Upstream, tmp_path: Path
) -> None:
    dest = tmp_path / "mirror.git"
    play = task(f"repo={upstream.bare} dest={dest} bare=yes")
    assert results(project, play)[0]["status"] == "changed"
    assert (dest / "HEAD").exists()
    assert not (dest / ".git").exists()
    newer = upstream.push("NEWS", "three\n")
    kept = results(project, task(f"repo={upstream.bare} dest={dest} bare=yes update=no"))[0]
    assert kept["status"] == "ok"
    assert kept["result"]["after"] == upstream.second
    moved = results(project, play)[0]
    assert moved["status"] == "changed"
    assert moved["result"]["after"] == newer


def test_a_new_remote_url_is_set_and_reported(
    project: CorralProject, upstream: Upstream, tmp_path: Path
) -> None:
    dest = tmp_path / "co"
    results(project, task(f"repo={upstream.bare} dest={dest}"))
    mirror = tmp_path / "mirror.git"
    git(tmp_path, "clone", "-q", "--bare", str(upstream.bare), str(mirror))
    out = results(project, task(f"repo={mirror} dest={dest}"))[0]
    assert out["status"] == "changed"
    assert out["result"]["remote_url_changed"] is True
    assert git(dest, "remote", "get-url", "origin") == f"file://{mirror}"


def test_a_missing_repository_fails_with_gits_reason(
    project: CorralProject, tmp_path: Path
) -> None:
    out = results(project, task(f"repo={tmp_path}/nowhere.git dest={tmp_path}/co"))[0]
    assert out["status"] == "failed"
    assert "nowhere.git" in out["result"]["msg"]
    assert not (tmp_path / "co").exists()


def test_bad_depth_names_the_argument(project: CorralProject, tmp_path: Path) -> None:
    project.write("site.yml", task(f"repo=/x dest={tmp_path}/co depth=zero"))
    out = project.run("run", "site.yml", "-i", "hosts.ini")
    assert out.exit_code != 0
    assert "depth" in out.output
