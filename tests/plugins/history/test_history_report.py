"""corral report --format html: one self-contained file that renders in headless Chromium."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest
from browser import CHROMIUM_FLAGS as BROWSER_FLAGS
from conftest import need
from store_runs import record_run

from corral_plugins.history.html import STATUS_COLOURS

PLAYBOOK = """
- name: rollout
  hosts: all
  gather_facts: false
  tasks:
    - name: drain
      shell: "sleep 0.{{ 1 + groups['all'].index(inventory_hostname) }}"
    - name: upgrade
      shell: "exit {{ 1 if inventory_hostname == 'web3' else 0 }}"
    - name: enable <script>alert(1)</script>
      debug: {msg: back}
"""
CHROMIUM_FLAGS = [*BROWSER_FLAGS, "--hide-scrollbars"]  # the web UI's tests' flags


@pytest.fixture
def report(corral_project) -> tuple[str, Path]:
    hosts = "".join(f"    web{i}: {{}}\n" for i in range(1, 5))
    corral_project.write(
        "hosts.yml", f"all:\n  vars: {{ansible_connection: local}}\n  hosts:\n{hosts}"
    )
    corral_project.write("rollout.yml", PLAYBOOK)
    code, run_id = record_run(corral_project, "rollout.yml", "hosts.yml")
    assert code == 2
    result = corral_project.run("report", run_id, "-o", "report.html")
    assert result.exit_code == 0, result.output
    return run_id, corral_project.path / "report.html"


def test_html_report_is_self_contained_and_escaped(report):
    run_id, path = report
    text = path.read_text()
    assert text.startswith("<!DOCTYPE html>")
    assert run_id in text
    assert "<svg" in text
    assert "<style>" in text
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", text), "no external assets"
    assert "<script" not in text, "task names are escaped, and the report has no scripts"
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "Failures (1)" in text
    assert "<h3>failed: [web3] upgrade</h3>" in text
    assert text.count("<rect") >= 4 * 3, "a bar per unit in the timeline"


def decode_png(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and the RGB(A) rows of a non-interlaced 8-bit PNG (what Chromium writes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    offset, chunks, header = 8, [], b""
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            chunks.append(body)
        offset += 12 + length
    width, height, depth, colour_type = struct.unpack(">IIBB", header[:10])
    assert depth == 8
    assert colour_type in (2, 6)
    channels = 4 if colour_type == 6 else 3
    raw = zlib.decompress(b"".join(chunks))
    stride = width * channels
    rows: list[bytes] = []
    previous = bytearray(stride)
    position = 0
    for _ in range(height):
        kind = raw[position]
        line = bytearray(raw[position + 1 : position + 1 + stride])
        position += 1 + stride
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                estimate = left + up - corner
                pa, pb, pc = abs(estimate - left), abs(estimate - up), abs(estimate - corner)
                best = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[i] = (line[i] + best) & 0xFF
        rows.append(bytes(line))
        previous = line
    pixels = [bytes(r[i : i + 3]) for r in rows for i in range(0, stride, channels)]
    return width, height, pixels  # type: ignore[return-value]


def test_html_report_renders_in_headless_chromium(report, tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    need(
        chromium is not None,
        "chromium is not installed (scripts/install-test-services installs it)",
    )
    _, path = report
    shot = tmp_path / "report.png"
    subprocess.run(
        [
            chromium,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            "--window-size=1280,900",
            f"--screenshot={shot}",
            path.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    width, height, pixels = decode_png(shot.read_bytes())
    assert (width, height) == (1280, 900)
    counts: dict[bytes, int] = {}
    for pixel in pixels:
        counts[pixel] = counts.get(pixel, 0) + 1
    legend_swatch = 12 * 12  # the legend alone shows each colour on this many pixels
    for status, bars in (("changed", 1000), ("failed", 40)):
        colour = bytes.fromhex(STATUS_COLOURS[status][1:])
        shown = counts.get(colour, 0) - legend_swatch
        assert shown > bars, (
            f"the timeline shows {status} bars ({STATUS_COLOURS[status]}): {shown} px"
        )
    white = counts.get(b"\xff\xff\xff", 0)
    assert white < len(pixels) * 0.97, "the page is not blank"


def test_the_timeline_is_marked_at_round_times() -> None:
    from corral_plugins.history.html import timeline_svg

    units = [
        {
            "task_uid": "p/0",
            "task": "one",
            "host": "web1",
            "status": "ok",
            "started": 100.0,
            "ended": 100.4,
        },
        {
            "task_uid": "p/1",
            "task": "two",
            "host": "web1",
            "status": "changed",
            "started": 100.4,
            "ended": 101.3,
        },
    ]
    marks = re.findall(r'text-anchor="middle">\+([^<]+)</text>', timeline_svg(units))
    assert marks == ["0ms", "250ms", "500ms", "750ms", "1s", "1.25s"]
