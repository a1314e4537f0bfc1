"""Upstream repositories for the git step's tests, made with the real ``git`` command."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from corral.testing import CorralProject

IDENTITY = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.org",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.org",
    "HOME": "/nonexistent",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(cwd: Path, *args: str) -> str:
    """Run git in ``cwd`` (as the tests' committer) and return its output."""
    import os

    done = subprocess.run(
        ["git", "-c", "init.defaultBranch=main", "-c", "safe.directory=*", *args],
        cwd=cwd,
        env={**os.environ, **IDENTITY},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


class Upstream:
    """A bare repository with ``main`` (two commits), a ``feature`` branch and tags."""

    def __init__(self, root: Path) -> None:
        self.bare = root / "upstream.git"
        self.work = root / "upstream-work"
        self.work.mkdir(parents=True)
        git(self.work, "init", "-q")
        self.first = self.commit("README", "one\n")
        git(self.work, "tag", "-a", "v1", "-m", "release 1")
        git(self.work, "tag", "light")
        self.second = self.commit("README", "two\n")
        git(self.work, "checkout", "-q", "-b", "feature")
        self.feature = self.commit("feature.txt", "f\n")
        git(self.work, "checkout", "-q", "main")
        git(root, "clone", "-q", "--bare", str(self.work), str(self.bare))
        git(self.work, "remote", "add", "origin", str(self.bare))

    def commit(self, name: str, text: str) -> str:
        (self.work / name).write_text(text)
        git(self.work, "add", name)
        git(self.work, "commit", "-q", "-m", f"{name}: {text.strip()}")
        return git(self.work, "rev-parse", "HEAD")

    def push(self, name: str, text: str) -> str:
        """A new commit on main, pushed upstream."""
        sha = self.commit(name, text)
        git(self.work, "push", "-q", "origin", "main")
        return sha


def results(project: CorralProject, playbook: str, *args: str) -> list[dict[str, Any]]:
    """Run ``playbook`` with the project's hosts.ini; the task results, in order."""
    project.write("site.yml", playbook)
    out = project.run("run", "site.yml", "-i", "hosts.ini", "--output", "json", *args)
    return [e for e in out.json_lines() if e["event"] == "task_result"]
