"""A local apt repository of small .deb packages the tests make with ``dpkg-deb --build``.

Deterministic and offline: each :class:`Package` becomes a .deb in a flat repository
(``Packages``, ``Packages.gz`` and ``Release`` written here, so dpkg-dev is not needed).
Pass the directory as ``debian_fleet(..., repo=path)``: it is bind-mounted read-only at
``/srv/corral-repo`` in the hosts and listed as ``deb [trusted=yes] file:/srv/corral-repo ./``;
the hosts still need ``apt-get update`` (or ``update_cache: true``) to see it.

    repo = build_repo(tmp_path / "repo", [Package("corral-hello", "1.0", files={...})])
"""

from __future__ import annotations

import gzip
import hashlib
import subprocess
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Package:
    """One binary package: ``files`` maps absolute paths to their content."""

    name: str
    version: str = "1.0"
    depends: Sequence[str] = ()
    files: Mapping[str, str | bytes] = field(default_factory=dict)
    postinst: str | None = None
    conffiles: Sequence[str] = ()
    architecture: str = "all"
    description: str = "a corral test package"

    @property
    def filename(self) -> str:
        return f"{self.name}_{self.version}_{self.architecture}.deb"

    def control(self) -> str:
        lines = [
            f"Package: {self.name}",
            f"Version: {self.version}",
            f"Architecture: {self.architecture}",
            "Maintainer: corral tests <tests@example.invalid>",
            "Section: misc",
            "Priority: optional",
        ]
        if self.depends:
            lines.append(f"Depends: {', '.join(self.depends)}")
        lines.append(f"Description: {self.description}")
        return "\n".join(lines) + "\n"


def build_deb(package: Package, directory: Path) -> Path:
    """Build ``package`` into ``directory``; the .deb's path."""
    with tempfile.TemporaryDirectory() as scratch:
        tree = Path(scratch) / "pkg"
        (tree / "DEBIAN").mkdir(parents=True)
        (tree / "DEBIAN" / "control").write_text(package.control())
        if package.postinst is not None:
            script = tree / "DEBIAN" / "postinst"
            script.write_text(package.postinst)
            script.chmod(0o755)
        if package.conffiles:
            (tree / "DEBIAN" / "conffiles").write_text("".join(f"{c}\n" for c in package.conffiles))
        for path, content in package.files.items():
            target = tree / path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            data = content.encode() if isinstance(content, str) else content
            target.write_bytes(data)
            target.chmod(0o755 if data.startswith(b"#!") else 0o644)
        for entry in [tree, *tree.rglob("*")]:
            if entry.is_dir():
                entry.chmod(0o755)
        out = directory / package.filename
        subprocess.run(
            ["dpkg-deb", "--root-owner-group", "-Zgzip", "--build", str(tree), str(out)],
            check=True,
            capture_output=True,
            timeout=60,
        )
    return out


def build_repo(directory: Path, packages: Iterable[Package]) -> Path:
    """Add ``packages`` to the flat repository in ``directory`` and rewrite its index."""
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o755)
    for package in packages:
        build_deb(package, directory).chmod(0o644)
    write_index(directory)
    return directory


def write_index(directory: Path) -> None:
    """``Packages``, ``Packages.gz`` and ``Release`` for every .deb in ``directory``."""
    stanzas = [_stanza(deb) for deb in sorted(directory.glob("*.deb"))]
    index = "\n".join(stanzas).encode()
    (directory / "Packages").write_bytes(index)
    (directory / "Packages.gz").write_bytes(gzip.compress(index, mtime=0))
    release = ["Origin: corral-tests", "Label: corral-tests", "Suite: ./", "SHA256:"]
    for name in ("Packages", "Packages.gz"):
        data = (directory / name).read_bytes()
        release.append(f" {hashlib.sha256(data).hexdigest()} {len(data)} {name}")
    (directory / "Release").write_text("\n".join(release) + "\n")
    for entry in directory.iterdir():
        entry.chmod(0o644)


def _stanza(deb: Path) -> str:
    control = subprocess.run(
        ["dpkg-deb", "--field", str(deb)], check=True, capture_output=True, text=True, timeout=60
    ).stdout
    data = deb.read_bytes()
    extra = (
        f"Filename: ./{deb.name}\nSize: {len(data)}\n"
        f"MD5sum: {hashlib.md5(data).hexdigest()}\n"  # apt's index format wants it
        f"SHA256: {hashlib.sha256(data).hexdigest()}\n"
    )
    return control.rstrip("\n") + "\n" + extra
