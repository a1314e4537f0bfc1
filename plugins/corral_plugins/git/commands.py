"""Running ``git`` on the host for the ``git`` step: one repository, one remote.

Every command runs through the task's connection (so ssh and docker hosts work) with
``LC_ALL=C`` (git's messages are parsed) and, when a key file or ssh options are given,
``GIT_SSH_COMMAND``. A command that fails raises :class:`StepFailed` naming what git said.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field

from corral import CommandResult, StepContext, StepFailed

__all__ = ["Git", "normalise_url", "ssh_command"]


def ssh_command(key_file: str | None, ssh_opts: str | None) -> str | None:
    """The ``GIT_SSH_COMMAND`` for a key file and extra ssh options, or None for git's default."""
    if not key_file and not ssh_opts:
        return None
    argv = ["ssh"]
    if key_file:
        argv += ["-i", key_file, "-o", "IdentitiesOnly=yes"]
    line = shlex.join(argv)
    return f"{line} {ssh_opts}" if ssh_opts else line


def normalise_url(url: str | None) -> str | None:
    """A remote URL with its trailing slashes and ``.git`` dropped, to compare two spellings."""
    if url is None:
        return None
    return re.sub(r"(\.git)?/*$", "", url.rstrip("/"))


@dataclass
class Git:
    """``git`` in ``dest`` on the task's host."""

    ctx: StepContext
    dest: str
    executable: str = "git"
    env: dict[str, str] = field(default_factory=dict)

    def run(
        self, *args: str, cwd: str | None = None, check: bool = True, what: str = ""
    ) -> CommandResult:
        """Run ``git ARGS`` in ``cwd`` (default ``dest``); raise on failure when ``check``."""
        argv = [self.executable, *args]
        result = self.ctx.conn.run(
            argv,
            env={"LC_ALL": "C", "LANG": "C", **self.env},
            cwd=cwd if cwd is not None else self.dest,
            timeout=self.ctx.timeout,
            become=self.ctx.become,
        )
        if check and (result.rc != 0 or result.timed_out):
            reason = "timed out" if result.timed_out else result.stderr.strip() or f"rc={result.rc}"
            action = what or shlex.join(argv)
            raise StepFailed(f"failed to {action}: {reason}")
        return result

    def ls_remote(self, remote: str, *patterns: str, kind: str = "", cwd: str | None = None) -> str:
        """``git ls-remote`` output; ``kind`` is ``-h`` (heads) or ``-t`` (tags)."""
        flags = [kind] if kind else []
        return self.run(
            "ls-remote", *flags, remote, *patterns, cwd=cwd, what=f"read the refs of {remote}"
        ).stdout

    def is_remote_branch(self, remote: str, version: str, cwd: str | None = None) -> bool:
        out = self.ls_remote(remote, f"refs/heads/{version}", kind="-h", cwd=cwd)
        return any(line.endswith(f"refs/heads/{version}") for line in out.splitlines())

    def is_remote_tag(self, remote: str, version: str, cwd: str | None = None) -> bool:
        out = self.ls_remote(remote, f"refs/tags/{version}", kind="-t", cwd=cwd)
        return any(line.endswith(f"refs/tags/{version}") for line in out.splitlines())

    def remote_head(self, remote: str, version: str, *, cloning: bool, bare: bool) -> str:
        """The commit ``version`` names on the remote (a sha is its own answer)."""
        cwd = "/" if cloning else None
        if version == "HEAD":
            pattern = "HEAD" if cloning else f"refs/heads/{self.head_branch(remote, bare)}"
            out = self.ls_remote(remote, pattern, cwd=cwd)
        elif self.is_remote_branch(remote, version, cwd=cwd):
            out = self.ls_remote(remote, f"refs/heads/{version}", kind="-h", cwd=cwd)
        elif self.is_remote_tag(remote, version, cwd=cwd):
            lines = self.ls_remote(remote, f"refs/tags/{version}*", kind="-t", cwd=cwd)
            # An annotated tag's commit is the peeled ``^{}`` line.
            peeled = [ln for ln in lines.splitlines() if ln.endswith(f"{version}^{{}}")]
            plain = [ln for ln in lines.splitlines() if ln.endswith(f"refs/tags/{version}")]
            out = (peeled or plain or [""])[0]
        else:
            return version
        if not out.strip():
            raise StepFailed(f"could not determine the remote revision for {version}")
        return out.split()[0]

    def version(self, ref: str = "HEAD") -> str:
        """The commit ``ref`` names in ``dest`` (empty in a repository without commits)."""
        return self.run("rev-parse", ref, check=False).stdout.strip()

    def head_branch(self, remote: str, bare: bool = False) -> str:
        """The branch HEAD is on; for a detached HEAD, the remote's default branch."""
        head = self.run("symbolic-ref", "-q", "HEAD", check=False)
        if head.rc == 0 and head.stdout.strip():
            return head.stdout.strip().removeprefix("refs/heads/")
        ref = self.run("symbolic-ref", "-q", f"refs/remotes/{remote}/HEAD", check=False)
        if ref.rc == 0 and ref.stdout.strip():
            return ref.stdout.strip().removeprefix(f"refs/remotes/{remote}/")
        raise StepFailed(f"cannot tell which branch HEAD follows in {self.dest}")

    def local_mods(self) -> bool:
        """Whether tracked files differ from HEAD (untracked files do not count, as in Ansible)."""
        out = self.run("status", "--porcelain", what="read the status").stdout
        return any(not line.startswith("??") for line in out.splitlines())

    def remote_url(self, remote: str) -> str | None:
        result = self.run("ls-remote", "--get-url", remote, check=False)
        return result.stdout.strip() if result.rc == 0 else None

    def local_branches(self) -> Sequence[str]:
        out = self.run("for-each-ref", "--format=%(refname:short)", "refs/heads/").stdout
        return out.split()
