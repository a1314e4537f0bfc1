#!/usr/bin/env python3
"""corral-app: the tiny versioned HTTP app the ready playbooks deploy (standard library only).

It reads its settings from a JSON file (the first argument, default
/etc/corral-app/app.json: ``version``, ``colour``, ``bind``, ``port``) and serves:

- ``GET /``        ``{"version": ..., "colour": ..., "host": ...}``: which release answers;
- ``GET /health``  ``{"status": "ok", "version": ...}`` with 200 while it can serve;
- ``GET /metrics`` ``{"requests": n, "errors": n, "latency_ms": x}`` since it started
  (``latency_ms``: the slowest of the last 100 answers), for a canary's thresholds;
  ``/health`` and ``/metrics`` themselves are not counted.

A release is this file and its settings: the playbooks install it under
/opt/corral-app/releases/VERSION and point /opt/corral-app/current at it.
"""

import json
import socket
import sys
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

with open(sys.argv[1] if len(sys.argv) > 1 else "/etc/corral-app/app.json") as settings:
    SETTINGS = json.load(settings)
LOCK = threading.Lock()
COUNTS = {"requests": 0, "errors": 0}
LATENCIES: deque = deque(maxlen=100)


def answer(path):
    """The status and JSON body for ``path``; a release under test may change this."""
    if path == "/health":
        return 200, {"status": "ok", "version": SETTINGS["version"]}
    if path == "/":
        return 200, {
            "version": SETTINGS["version"],
            "colour": SETTINGS.get("colour", ""),
            "host": SETTINGS.get("host", socket.gethostname()),
        }
    return 404, {"error": "not found"}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        started = time.monotonic()
        if self.path == "/metrics":
            with LOCK:
                status, body = 200, dict(COUNTS, latency_ms=max(LATENCIES, default=0.0))
        else:
            status, body = answer(self.path)
        if self.path not in ("/metrics", "/health"):  # the load balancer's checks are not traffic
            with LOCK:
                COUNTS["requests"] += 1
                COUNTS["errors"] += status >= 500
                LATENCIES.append(round((time.monotonic() - started) * 1000, 1))
        data = json.dumps(body).encode() + b"\n"
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args):
        pass  # quiet: the journal needs no access log


if __name__ == "__main__":
    address = (SETTINGS.get("bind", "0.0.0.0"), int(SETTINGS["port"]))  # noqa: S104 - a server
    ThreadingHTTPServer(address, Handler).serve_forever()
