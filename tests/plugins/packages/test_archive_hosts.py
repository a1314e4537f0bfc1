"""Packages from Debian's real archive (network), and pip in a virtualenv it makes possible."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path

import pytest
from debian_hosts import FleetFactory
from hosts import make_repo, play

from corral.testing import CorralProject

pytestmark = [pytest.mark.slow, pytest.mark.archive]


def build_wheel(directory: Path, name: str = "corral_probe", version: str = "1.0") -> Path:
    """A minimal pure-Python wheel, written by hand (no build tools needed)."""
    info = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": f"VERSION = {version!r}\n".encode(),
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name.replace('_', '-')}\n"
        f"Version: {version}\n".encode(),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: corral-tests\n"
        b"Root-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{info}/RECORD,,")
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    wheel = directory / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    wheel.chmod(0o644)
    return wheel


def test_a_real_package_from_debians_archive_then_pip_in_a_virtualenv(
    debian_fleet: FleetFactory, corral_project: CorralProject, tmp_path: Path
) -> None:
    repo, _ = make_repo(tmp_path)
    wheels = repo / "wheels"
    wheels.mkdir(mode=0o755)
    build_wheel(wheels)
    fleet = debian_fleet(1, repo=repo)
    tasks = [
        {
            "name": "venv support",
            "package": {"name": "python3-venv", "state": "present"},
        },
        {
            "name": "probe",
            "pip": {
                "name": "corral-probe",
                "virtualenv": "/opt/probe",
                "virtualenv_command": "python3 -m venv",
                "extra_args": "--no-index --find-links /srv/corral-repo/wheels",
            },
        },
    ]
    tasks[0]["package"]["update_cache"] = True
    code, results, output = play(corral_project, fleet.inventory, tasks)
    assert code == 0, output
    assert results["venv support"]["changed"] is True
    assert results["probe"]["changed"] is True
    out = fleet.check(
        "deb1", ["/opt/probe/bin/python", "-c", "import corral_probe as p; print(p.VERSION)"]
    )
    assert out == "1.0\n"
    code, results, output = play(corral_project, fleet.inventory, tasks)
    assert code == 0, output
    assert results["probe"]["changed"] is False
    assert results["venv support"]["changed"] is False

    tasks[1]["pip"]["state"] = "absent"
    code, results, output = play(corral_project, fleet.inventory, tasks[1:])
    assert results["probe"]["changed"] is True
    assert fleet.exec("deb1", ["/opt/probe/bin/python", "-c", "import corral_probe"]).rc != 0

    # A requirements file on the host: check mode asks pip (--dry-run), then it installs.
    fleet.write("deb1", "/opt/requirements.txt", "corral-probe==1.0\n")
    req = {
        "name": "req",
        "pip": {
            "requirements": "/opt/requirements.txt",
            "virtualenv": "/opt/probe",
            "extra_args": "--no-index --find-links /srv/corral-repo/wheels",
        },
    }
    code, results, output = play(corral_project, fleet.inventory, [req], "--check")
    assert code == 0, output
    assert results["req"]["changed"] is True
    assert fleet.exec("deb1", ["/opt/probe/bin/python", "-c", "import corral_probe"]).rc != 0
    code, results, output = play(corral_project, fleet.inventory, [req])
    assert results["req"]["changed"] is True
    code, results, output = play(corral_project, fleet.inventory, [req])
    assert results["req"]["changed"] is False
