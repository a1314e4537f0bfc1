"""A third-party plugin installed with pip is discovered, listed, tested, and gone once removed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "corral-hello-plugin"
PIP = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]


def _pip(*args: str, python: str = sys.executable) -> None:
    command = [python, *PIP[1:], *args]
    subprocess.run(command, check=True, capture_output=True, text=True, timeout=300)


def _overlay_venv(path: Path) -> Path:
    """A venv of its own that sees this one's packages: the plugin is installed there.

    pip installs into and uninstalls from the new venv only, so tests running beside
    this one (pytest-xdist) never see the plugin come and go in the shared environment.
    A ``.pth`` line adds this environment's site-packages with ``site.addsitedir``, which
    also runs its ``.pth`` files (corral's editable install is one).
    """
    import sysconfig
    import venv

    venv.EnvBuilder(with_pip=False).create(path)
    python = path / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout.strip()  # fmt: skip
    ours = sysconfig.get_path("purelib")
    Path(purelib, "_corral_parent.pth").write_text(f"import site; site.addsitedir({ours!r})\n")
    return python


def _corral(python: Path, project, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(python), "-m", "corral", *args],
        cwd=project.path,
        env={**os.environ, **project.env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _listed(python: Path, project) -> dict[str, dict[str, object]]:
    result = _corral(python, project, "plugins", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    return {p["name"]: p for p in json.loads(result.stdout)}


@pytest.mark.slow
def test_pip_installed_plugin_is_discovered_listed_and_removed(corral_project, tmp_path):
    python = _overlay_venv(tmp_path / "venv")
    # No build isolation: hatchling is a dev dependency, so no download is needed.
    _pip("install", "--no-deps", "--no-build-isolation", str(EXAMPLE), python=str(python))
    hello = _listed(python, corral_project)["hello"]
    assert hello["distribution"] == "corral-hello-plugin"
    assert hello["version"] == "0.1.0"
    assert hello["builtin"] is False
    assert hello["steps"] == ["hello.greet"]
    assert hello["triggers"] == ["hello.every"]

    version = _corral(python, corral_project, "--version")
    assert "plugins: hello 0.1.0 (corral-hello-plugin)" in version.stdout

    table = _corral(python, corral_project, "plugins")
    assert "hello.greet" in table.stdout
    assert "hello.every" in table.stdout

    # The plugin's own test suite runs on corral's shipped pytest fixtures.
    own_tests = subprocess.run(
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", str(EXAMPLE / "tests")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert own_tests.returncode == 0, own_tests.stdout + own_tests.stderr

    _pip("uninstall", "-y", "corral-hello-plugin", python=str(python))
    assert "hello" not in _listed(python, corral_project)
    assert "hello" not in _listed(Path(sys.executable), corral_project)  # never in ours


@pytest.mark.slow
def test_a_plugin_that_fails_to_import_names_itself_and_the_fix(corral_project, tmp_path):
    broken = tmp_path / "broken-plugin"
    (broken / "corral_broken").mkdir(parents=True)
    (broken / "corral_broken" / "__init__.py").write_text("raise ImportError('missing libfoo')\n")
    (broken / "pyproject.toml").write_text(
        "[build-system]\nrequires = ['hatchling']\nbuild-backend = 'hatchling.build'\n"
        "[project]\nname = 'corral-broken-plugin'\nversion = '2.0.1'\n"
        "[project.entry-points.corral]\nbroken = 'corral_broken'\n"
        "[tool.hatch.build.targets.wheel]\npackages = ['corral_broken']\n"
    )
    # Installed with pip into a directory of its own, found through PYTHONPATH: a crash of
    # this test cannot leave a broken plugin in the environment every other test uses.
    site = tmp_path / "site"
    _pip("install", "--no-deps", "--no-build-isolation", "--target", str(site), str(broken))
    env = {"PYTHONPATH": str(site)}
    result = corral_project.run_subprocess("plugins", env=env)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "error: plugin 'broken' (from corral-broken-plugin 2.0.1) failed to load: "
        "ImportError: missing libfoo",
        "hint: fix or uninstall it, or run with CORRAL_DISABLE_PLUGINS=broken",
    ]
    # --version still answers, and the suggested switch works.
    assert corral_project.run_subprocess("--version", env=env).exit_code == 0
    fixed = corral_project.run_subprocess(
        "plugins", env={**env, "CORRAL_DISABLE_PLUGINS": "broken"}
    )
    assert fixed.exit_code == 0, fixed.output
    assert corral_project.run_subprocess("plugins").exit_code == 0  # the environment is clean
