"""The setup script's ``key=value`` lines, read once: first values by key, and every value."""

from __future__ import annotations

from collections.abc import Iterator, Mapping


class Raw(Mapping[str, str]):
    """A key's first value, stripped (``raw["kernel"]``); all its values (``raw.all("addr")``)."""

    def __init__(self, values: dict[str, list[str]]) -> None:
        self._values = values
        self._first = {key: items[0].strip() for key, items in values.items()}

    @classmethod
    def parse(cls, text: str) -> Raw:
        values: dict[str, list[str]] = {}
        for line in text.splitlines():
            key, sep, value = line.partition("=")
            if sep and key:
                values.setdefault(key, []).append(value)
        return cls(values)

    def __getitem__(self, key: str) -> str:
        return self._first[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._first)

    def __len__(self) -> int:
        return len(self._first)

    def all(self, key: str) -> list[str]:
        """Every value printed for ``key``, as printed."""
        return self._values.get(key, [])

    def has_any(self, *keys: str) -> bool:
        return any(key in self._first for key in keys)

    def number(self, key: str, default: int = 0) -> int:
        """The value as an integer, ``default`` when it is missing or not one."""
        value = self._first.get(key, "")
        return int(value) if value.isdigit() else default

    def prefixed(self, prefix: str) -> dict[str, str]:
        """Keys under ``prefix`` (``"dns."``), without it, and their first values."""
        return {
            key[len(prefix) :]: value
            for key, value in self._first.items()
            if key.startswith(prefix)
        }
