"""POSIX helpers that connection plugins share: argv, stdin, ``stat`` and sudo.

Any connection that runs commands on a POSIX host (the built-in ``local``, ``ssh``
and ``docker``, and third-party ones) may use these, so every connection quotes,
stats and becomes the same way:

- :func:`command_argv` and :func:`stdin_bytes`: what ``Connection.run`` receives,
  turned into an argv list and bytes;
- :class:`RawOutput`: a finished command with its output still as bytes;
- :data:`STAT_SCRIPT` and :func:`parse_stat_output`: ``stat`` as another user,
  through a command instead of a system call;
- :func:`sudo_command`: a command wrapped for ``sudo`` with a prompt and a start
  marker that carry a nonce, so command output cannot fake them.
"""

from __future__ import annotations

import secrets
import stat as stat_mod
from collections.abc import Sequence
from dataclasses import dataclass

from corral.connection import Become, CommandResult, FileContent, FileStat

__all__ = [
    "READ_SCRIPT",
    "STAT_SCRIPT",
    "RawOutput",
    "SudoCommand",
    "command_argv",
    "first_line",
    "parse_read_output",
    "parse_stat_output",
    "stdin_bytes",
    "sudo_command",
]

# Describes "$1" as the become user: exit 3 when missing; else a line
# "rawmode-hex|size|uid|gid|owner|group|mtime", the link target line, and the sha1
# line when "$2" is 1 and the path is a regular file.
STAT_SCRIPT = """p=$1
if [ ! -e "$p" ] && [ ! -L "$p" ]; then exit 3; fi
stat -c '%f|%s|%u|%g|%U|%G|%Y' -- "$p" || exit 1
if [ -L "$p" ]; then readlink -- "$p"; else echo; fi
if [ "$2" = 1 ] && [ -f "$p" ] && [ ! -L "$p" ] && [ -r "$p" ]; then
  sha1sum -- "$p" | cut -d' ' -f1
fi
"""


# Reads "$1" as the become user, symlinks followed (Connection.read_file): the resolved
# path and a NUL; then, when something is there, the stat line of STAT_SCRIPT and a NUL;
# then, for a regular file, its bytes. readlink -f is in GNU coreutils and busybox.
READ_SCRIPT = """p=$(readlink -f -- "$1" 2>/dev/null) || p=$1
[ -n "$p" ] || p=$1
printf '%s\\0' "$p"
if [ ! -e "$p" ]; then exit 0; fi
s=$(stat -c '%f|%s|%u|%g|%U|%G|%Y' -- "$p") || exit 1
printf '%s\\0' "$s"
if [ -f "$p" ]; then exec cat -- "$p"; fi
"""


@dataclass(frozen=True)
class RawOutput:
    """A finished command with its output still as bytes."""

    rc: int
    stdout: bytes
    stderr: bytes
    timed_out: bool = False

    def decoded(self) -> CommandResult:
        """The :class:`CommandResult` step code sees: UTF-8 text, bad bytes replaced."""
        return CommandResult(
            rc=self.rc,
            stdout=self.stdout.decode("utf-8", errors="replace"),
            stderr=self.stderr.decode("utf-8", errors="replace"),
            timed_out=self.timed_out,
        )


def command_argv(command: Sequence[str] | str) -> list[str]:
    """An argv list runs as is; a string goes through ``/bin/sh -c``."""
    return ["/bin/sh", "-c", command] if isinstance(command, str) else list(command)


def stdin_bytes(stdin: bytes | str | None) -> bytes | None:
    return stdin.encode() if isinstance(stdin, str) else stdin


def first_line(data: bytes) -> str:
    """The first line of ``data``, decoded, for a one-line error message."""
    text = data.decode("utf-8", errors="replace").strip()
    return text.splitlines()[0] if text else "unknown error"


def parse_stat_output(path: str, text: str) -> FileStat:
    """Parse the output of the become ``stat`` script (GNU/busybox ``stat -c``)."""
    lines = text.split("\n")
    fields = lines[0].split("|")
    if len(fields) != 7:
        from corral.errors import StepFailed

        shown = lines[0][:80] or "nothing"
        raise StepFailed(f"cannot stat {path}: the stat script printed {shown!r}")
    raw_mode, size, uid, gid, owner, group, mtime = fields
    mode = int(raw_mode, 16)
    is_link = stat_mod.S_ISLNK(mode)
    link_target = lines[1] if is_link and len(lines) > 1 else None
    checksum = lines[2].strip() if len(lines) > 2 and lines[2].strip() else None
    return FileStat(
        path=path,
        is_file=stat_mod.S_ISREG(mode),
        is_dir=stat_mod.S_ISDIR(mode),
        is_link=is_link,
        mode=mode,
        size=int(size),
        uid=int(uid),
        gid=int(gid),
        owner=owner,
        group=group,
        mtime=float(mtime),
        link_target=link_target,
        checksum=checksum,
    )


def parse_read_output(raw: bytes) -> FileContent:
    """Parse :data:`READ_SCRIPT`'s output; ValueError when it is not that."""
    path, sep, rest = raw.partition(b"\0")
    if not sep:
        raise ValueError("no path in the read script's output")
    name = path.decode("utf-8", errors="surrogateescape")
    if not rest:
        return FileContent(name, None)
    line, sep, data = rest.partition(b"\0")
    if not sep:
        raise ValueError("no stat line in the read script's output")
    return FileContent(name, parse_stat_output(name, line.decode()), data)


# Runs as the become user: prints the marker on stdout and stderr, then becomes the command.
_WRAPPER = 'echo "$0"; echo "$0" >&2; exec "$@"'


@dataclass(frozen=True)
class SudoCommand:
    """A command wrapped for sudo, with what the handshake needs to recognise."""

    argv: list[str]
    prompt: str
    marker: str
    password: str | None


def sudo_command(exe: str, become: Become, argv: list[str], env: dict[str, str]) -> SudoCommand:
    """Wrap ``argv`` to run through ``exe`` (sudo) as ``become.user``.

    sudo resets the environment, so ``env`` (the task's variables) is passed with ``env(1)``.
    """
    nonce = secrets.token_hex(8)
    prompt = f"[corral:{nonce}] password:"
    marker = f"CORRAL-BECOME-{nonce}"
    password = become.password.reveal() if become.password is not None else None
    env_args = [f"{key}={value}" for key, value in env.items()]
    wrapped = [
        exe,
        "-H",
        "-S",
        # Without a password, fail at once rather than read one from the command's stdin.
        *(["-n"] if password is None else []),
        "-p",
        prompt,
        *become.flags,
        "-u",
        become.user,
        "--",
        *(["env", *env_args] if env_args else []),
        "/bin/sh",
        "-c",
        _WRAPPER,
        marker,
        *argv,
    ]
    return SudoCommand(argv=wrapped, prompt=prompt, marker=marker, password=password)
