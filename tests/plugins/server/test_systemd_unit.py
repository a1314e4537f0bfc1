"""The systemd unit the docs give for ``corral serve``: the one shipped, and one systemd accepts."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from conftest import need

ROOT = Path(__file__).resolve().parents[3]
UNIT = ROOT / "examples" / "systemd" / "corral-serve.service"


def test_the_documented_unit_is_the_shipped_one() -> None:
    doc = (ROOT / "docs" / "serve.md").read_text()
    block = doc.split("```ini\n", 1)[1].split("```", 1)[0]
    assert settings(block) == settings(UNIT.read_text())


def settings(text: str) -> list[str]:
    """The unit's lines that are not comments."""
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    need(shutil.which("systemd-analyze") is not None, "systemd-analyze is not installed")
    corral = Path(sys.executable).with_name("corral")
    text = UNIT.read_text().replace("/usr/local/bin/corral", str(corral))
    text = text.replace("User=corral\n", "User=root\n")  # a user this machine has
    text = text.replace("/srv/ops", str(tmp_path))
    unit = tmp_path / "corral-serve.service"
    unit.write_text(text)
    verified = subprocess.run(
        ["systemd-analyze", "verify", str(unit)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert verified.returncode == 0, verified.stderr
    assert "corral-serve.service" not in verified.stderr  # no warning about the unit itself
