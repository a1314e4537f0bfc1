#!/usr/bin/env python3
"""Send commands to HAProxy's runtime API on its Unix socket (no socat needed).

    haproxy_runtime.py SOCKET COMMAND [COMMAND ...]

Each command goes on its own connection, in order. The state-changing commands the DR
playbooks send (``set server B/S state ...``, ``shutdown sessions server B/S``) answer
nothing when they work, so any answer ("No such server.", "Unknown command") is printed
and fails the script: the run stops instead of believing the clients were moved.
"""

from __future__ import annotations

import socket
import sys


def send(path: str, command: str) -> str:
    with socket.socket(socket.AF_UNIX) as conn:
        conn.settimeout(10)
        conn.connect(path)
        conn.sendall(command.encode() + b"\n")
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    return answer.decode(errors="replace").strip()


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    path, failed = argv[0], False
    for command in argv[1:]:
        answer = send(path, command)
        print(f"{command}: {answer or 'done'}")
        failed = failed or bool(answer)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
