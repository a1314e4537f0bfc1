"""Hardware facts: processors, memory, uptime, mounts and block devices (``/proc``, ``/sys``)."""

from __future__ import annotations

import contextlib
from typing import Any

from corral_plugins.facts.raw import Raw

__all__ = ["bytes_to_human", "hardware_facts"]


def hardware_facts(raw: Raw) -> dict[str, Any]:
    facts = _processor_facts(raw)
    facts.update(_memory_facts(raw))
    if raw.get("uptime"):
        with contextlib.suppress(ValueError):
            facts["uptime_seconds"] = int(float(raw["uptime"]))
    load = raw.get("loadavg", "").split()
    if len(load) == 3:
        with contextlib.suppress(ValueError):
            facts["loadavg"] = dict(zip(("1m", "5m", "15m"), map(float, load), strict=True))
    if raw.all("mount"):
        facts["mounts"] = [m for m in (_mount(line) for line in raw.all("mount")) if m]
    if raw.all("blk"):
        facts["devices"] = _devices(raw)
    return facts


def _processor_facts(raw: Raw) -> dict[str, Any]:
    vcpus = raw.number("cpu.online") or raw.number("cpu.processors")
    cores = raw.number("cpu.cores") or 1
    facts: dict[str, Any] = {
        "processor_vcpus": vcpus,
        "processor_count": raw.number("cpu.sockets") or vcpus,
        "processor_cores": cores,
        "processor_nproc": raw.number("cpu.nproc") or vcpus,
    }
    siblings = raw.number("cpu.siblings")
    if siblings:
        facts["processor_threads_per_core"] = max(1, siblings // cores)
    processor: list[str] = []
    for line in raw.all("cpuinfo"):
        processor.append(line.strip())
    if processor:
        facts["processor"] = processor
    return facts


def _memory_facts(raw: Raw) -> dict[str, Any]:
    def mb(key: str) -> int:
        return raw.number(f"mem.{key}") // 1024

    if "mem.MemTotal" not in raw:
        return {}
    facts: dict[str, Any] = {"memtotal_mb": mb("MemTotal")}
    for key, fact in (
        ("MemFree", "memfree_mb"),
        ("SwapTotal", "swaptotal_mb"),
        ("SwapFree", "swapfree_mb"),
    ):
        if f"mem.{key}" in raw:
            facts[fact] = mb(key)
    total, free = mb("MemTotal"), mb("MemFree")
    nocache_free = free + mb("Buffers") + mb("Cached")
    facts["memory_mb"] = {
        "real": {"total": total, "used": total - free, "free": free},
        "nocache": {"free": nocache_free, "used": total - nocache_free},
        "swap": {
            "total": mb("SwapTotal"),
            "free": mb("SwapFree"),
            "used": mb("SwapTotal") - mb("SwapFree"),
            "cached": mb("SwapCached"),
        },
    }
    return facts


def _mount(line: str) -> dict[str, Any] | None:
    """One mount: ``dev mnt fstype opts dump pass`` and, when ``stat -f`` worked, its sizes."""
    words = line.split()
    if len(words) < 6:
        return None
    device, mount, fstype, options = (_octal(word) for word in words[:4])
    mount_facts: dict[str, Any] = {
        "mount": mount,
        "device": device,
        "fstype": fstype,
        "options": options,
        "dump": int(words[4]) if words[4].isdigit() else 0,
        "passno": int(words[5]) if words[5].isdigit() else 0,
        "uuid": "N/A",
    }
    sizes = words[6:13]
    if len(sizes) == 7 and all(word.isdigit() for word in sizes):
        # Ansible counts used blocks as total - available (root's reserve counts as used).
        frsize, bsize, blocks, _bfree, bavail, files, ffree = (int(word) for word in sizes)
        mount_facts.update(
            size_total=frsize * blocks,
            size_available=frsize * bavail,
            block_size=bsize,
            block_total=blocks,
            block_available=bavail,
            block_used=blocks - bavail,
            inode_total=files,
            inode_available=ffree,
            inode_used=files - ffree,
        )
    return mount_facts


def _octal(word: str) -> str:
    """``/proc/mounts`` writes a space in a path as ``\\040``."""
    if "\\" not in word:
        return word
    try:
        return word.encode("latin-1").decode("unicode_escape")
    except UnicodeDecodeError:
        return word


def _devices(raw: Raw) -> dict[str, Any]:
    """A minimal ``devices``: per block device its size, flags, model, vendor and partitions."""
    extras: dict[str, dict[str, str]] = {}
    for key in ("model", "vendor"):
        for line in raw.all(f"blk.{key}"):
            name, _, value = line.partition(" ")
            extras.setdefault(name, {})[key] = value.strip()
    virtual = {line.strip() for line in raw.all("blk.virtual")}
    devices: dict[str, Any] = {}
    for line in raw.all("blk"):
        words = line.split()
        if len(words) < 2 or not words[1].isdigit():
            continue
        name, sectors = words[0], int(words[1])
        removable, rotational, sector_size = (
            word if word != "-" else default
            for word, default in zip((*words[2:5], "-", "-", "-"), ("0", "0", "512"), strict=False)
        )
        device: dict[str, Any] = {
            "model": extras.get(name, {}).get("model"),
            "vendor": extras.get(name, {}).get("vendor"),
            "removable": removable,
            "rotational": rotational,
            "sectors": sectors,
            "sectorsize": sector_size,
            "size": bytes_to_human(sectors * int(sector_size)),
            "partitions": {},
            "holders": [],
        }
        if name in virtual:
            device["virtual"] = 1
        devices[name] = device
    for line in raw.all("blk.part"):
        words = line.split()
        if len(words) == 4 and words[0] in devices and words[2].isdigit():
            size = int(words[2]) * int(devices[words[0]]["sectorsize"])
            devices[words[0]]["partitions"][words[1]] = {
                "sectors": int(words[2]),
                "sectorsize": int(devices[words[0]]["sectorsize"]),
                "size": bytes_to_human(size),
                "start": words[3],
                "holders": [],
            }
    return devices


def bytes_to_human(size: int) -> str:
    """Ansible's ``bytes_to_human``: ``0.00 Bytes``, ``512.00 GB``."""
    value = float(size)
    for unit in ("Bytes", "KB", "MB", "GB", "TB", "PB", "EB", "ZB"):
        if value < 1024 or unit == "ZB":
            return f"{value:.2f} {unit}"
        value /= 1024
    return f"{value:.2f} YB"
