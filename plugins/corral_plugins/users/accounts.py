"""The host's accounts as ``getent`` reports them, read in one command, and name checks.

The steps never read /etc/passwd themselves: ``getent`` answers through NSS as
Ansible's ``pwd``/``grp`` lookups do. ``getent shadow`` needs root (``become``); without
it the password fields read as unknown ("").
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from corral import CommandResult, StepContext, StepFailed

__all__ = ["Accounts", "Group", "Passwd", "Shadow", "check_name", "read_accounts", "run"]

# What useradd and groupadd accept everywhere (Debian's are more lenient, others stricter):
# no ':' ',' '/' or whitespace, not '-' first, not only digits (a uid), at most 32 bytes.
_NAME = re.compile(r"[A-Za-z0-9_.][A-Za-z0-9_.-]*\$?")
MAX_NAME = 32


def check_name(name: str, kind: str) -> None:
    """StepFailed naming ``name`` when it cannot be a user or group name."""
    if not _NAME.fullmatch(name) or name.isdigit() or name in (".", "..") or len(name) > 32:
        raise StepFailed(
            f"name: {name!r} is not a valid {kind} name (letters, digits, '_', '.', '-', "
            f"not starting with '-', not all digits, at most {MAX_NAME} characters)"
        )


@dataclass(frozen=True)
class Passwd:
    name: str
    password: str
    uid: int
    gid: int
    comment: str
    home: str
    shell: str


@dataclass(frozen=True)
class Shadow:
    password: str
    min: int | None
    max: int | None
    warn: int | None
    expire: int | None  # days since the epoch, None for never


@dataclass(frozen=True)
class Group:
    name: str
    gid: int
    members: tuple[str, ...]


@dataclass(frozen=True)
class Accounts:
    """One user's entries (None when absent) and every group."""

    passwd: Passwd | None
    shadow: Shadow | None
    groups: tuple[Group, ...]
    home_exists: bool = False  # whether the user's home directory is there

    def group(self, ref: str | int) -> Group | None:
        """A group by gid (when ``ref`` is a number, as Ansible tries first) or by name."""
        text = str(ref)
        if text.isdigit():
            found = next((g for g in self.groups if g.gid == int(text)), None)
            if found is not None:
                return found
        return next((g for g in self.groups if g.name == text), None)

    def member_of(self, name: str) -> list[str]:
        """The groups that list ``name`` as a member, in the group database's order."""
        return [g.name for g in self.groups if name in g.members]

    @property
    def password(self) -> str:
        """The password hash: shadow's when readable, else passwd's second field."""
        if self.shadow is not None:
            return self.shadow.password
        return self.passwd.password if self.passwd is not None else ""


def run(ctx: StepContext, argv: Sequence[str] | str) -> CommandResult:
    """Run a command on the host as the task's become user."""
    return ctx.conn.run(argv, become=ctx.become, timeout=ctx.timeout)


def read_accounts(ctx: StepContext, user: str | None) -> Accounts:
    """The user's passwd and shadow entries (when ``user`` is given) and the group database."""
    script = "getent group; echo @@"
    if user is not None:
        quoted = shlex.quote(user)
        script += f"; getent passwd {quoted}; echo @@; getent shadow {quoted} 2>/dev/null"
        # The home directory's presence too, saving user a stat per task.
        script += f"; echo @@; h=$(getent passwd {quoted} | cut -d: -f6)"
        script += '; if [ -n "$h" ] && [ -e "$h" ]; then echo home; fi'
    result = run(ctx, script + "; true")
    if result.rc != 0 or "@@" not in result.stdout:
        raise StepFailed(f"cannot read the account databases: {result.stderr.strip()}")
    parts = result.stdout.split("@@\n")
    groups = tuple(_group(line) for line in parts[0].splitlines() if line.count(":") >= 3)
    passwd = shadow = None
    if user is not None:
        passwd = next((_passwd(x) for x in parts[1].splitlines() if _named(x, user)), None)
        shadow_lines = parts[2].splitlines() if len(parts) > 2 else []
        shadow = next((_shadow(x) for x in shadow_lines if _named(x, user)), None)
        home_exists = len(parts) > 3 and parts[3].strip() == "home"
        return Accounts(passwd, shadow, groups, home_exists)
    return Accounts(passwd, shadow, groups)


def _named(line: str, name: str) -> bool:
    return line.split(":", 1)[0] == name


def _group(line: str) -> Group:
    name, _, gid, members = line.split(":", 3)
    return Group(name, int(gid), tuple(m for m in members.split(",") if m))


def _passwd(line: str) -> Passwd:
    name, password, uid, gid, comment, home, shell = line.split(":", 6)
    return Passwd(name, password, int(uid), int(gid), comment, home, shell)


def _number(text: str) -> int | None:
    return int(text) if text.strip().lstrip("-").isdigit() else None


def _shadow(line: str) -> Shadow:
    fields = (line.split(":") + [""] * 9)[:9]
    return Shadow(
        fields[1], _number(fields[3]), _number(fields[4]), _number(fields[5]), _number(fields[7])
    )
