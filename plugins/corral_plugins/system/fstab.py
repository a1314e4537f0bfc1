"""``/etc/fstab`` as ``ansible.posix.mount`` edits it (its Linux behaviour, line for line).

An entry is found by its mount point (escaped as fstab escapes it: ``\\040`` for a space,
``\\046`` for ``&``, ``\\134`` for ``\\``); for ``swap`` entries (mount point ``none``)
the source tells them apart. A changed entry is rewritten as ``SRC PATH TYPE OPTS DUMP
PASSNO`` separated by single spaces; an unchanged one keeps its spacing; a new one is
appended. Removal only sees six-field lines, as Ansible's.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["escape", "remove_entry", "set_entry"]

LABELS = ("src", "name", "fstype", "opts", "dump", "passno")


def escape(value: str) -> str:
    return value.replace("\\", "\\134").replace(" ", "\\040").replace("&", "\\046")


def _line(fields: Mapping[str, object]) -> str:
    return " ".join(str(fields[label]) for label in LABELS) + "\n"


def _other_swap(fields: Mapping[str, object], src: str | None) -> bool:
    """A swap entry whose source is not ours (they all have the mount point ``none``)."""
    return (
        src is not None
        and fields["name"] == "none"
        and fields["fstype"] == "swap"
        and fields["src"] != src
    )


def set_entry(text: str, wanted: Mapping[str, str]) -> tuple[str, bool]:
    """The file with the entry for ``wanted['name']`` as wanted; whether that changed it."""
    escaped = {key: escape(value) for key, value in wanted.items()}
    out: list[str] = []
    exists = changed = False
    for raw in text.splitlines(keepends=True):
        line = raw if raw.endswith("\n") else raw + "\n"
        if not line.strip() or line.strip().startswith("#"):
            out.append(line)
            continue
        words = line.split("#")[0].split()
        if len(words) not in (4, 5, 6):
            out.append(line)
            continue
        # Ansible fills missing dump/passno with the number 0, which never equals "0":
        # a four-field entry for the mount point is always rewritten.
        fields: dict[str, object] = {"dump": 0, "passno": 0}
        fields.update(zip(LABELS, words, strict=False))
        if fields["name"] != escaped["name"] or _other_swap(fields, wanted.get("src")):
            out.append(line)
            continue
        exists = True
        for label in ("src", "fstype", "opts", "dump", "passno"):
            if fields[label] != escaped[label]:
                fields[label] = escaped[label]
                changed = True
        out.append(_line(fields) if changed else line)
    if not exists:
        out.append(_line(escaped))
        changed = True
    return "".join(out), changed


def remove_entry(text: str, name: str, src: str | None) -> tuple[str, bool]:
    """The file without the entry for mount point ``name``; whether there was one."""
    out: list[str] = []
    changed = False
    for line in text.splitlines(keepends=True):
        words = line.split()
        if not line.strip() or line.strip().startswith("#") or len(words) != 6:
            out.append(line)
            continue
        fields = dict(zip(LABELS, words, strict=True))
        if fields["name"] != escape(name) or _other_swap(fields, src):
            out.append(line)
            continue
        changed = True
    return "".join(out), changed
