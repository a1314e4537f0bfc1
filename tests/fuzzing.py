"""Shared pieces of the property-based tests in ``tests/security/test_properties_*.py``.

Each property says the same thing about one of corral's readers of user input: whatever
it is given ends in a result or a clean :class:`~corral.errors.CorralError` (a one-line
message the CLI can print), never another exception, within a time bound per example
(Hypothesis's ``deadline``) and a memory bound (:func:`memory_cap`).

:func:`bounded` gives a property's settings. Under ``CI=true`` the examples are
derandomized (the same every run, so CI never fails on a new random draw) and no example
database is written; locally the draw is random and failures are replayed from
``.hypothesis/``. ``CORRAL_PROPERTY_SCALE=20`` multiplies every example count, for a
longer hunt than the default run of well under a minute.
"""

from __future__ import annotations

import contextlib
import os
import resource
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any, TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from corral.errors import CorralError

T = TypeVar("T")

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
DEADLINE = timedelta(seconds=2)
"""Per example: inputs are at most a few KB, which every reader handles in milliseconds."""
MEMORY_HEADROOM = 1 << 30
"""Address space a property may grow by before an allocation fails (1 GiB)."""


def bounded(max_examples: int) -> settings:
    """Settings for one property: ``max_examples`` examples (scaled), each within 2 s."""
    scale = float(os.environ.get("CORRAL_PROPERTY_SCALE", "1") or 1)
    return settings(
        max_examples=max(1, int(max_examples * scale)),
        deadline=DEADLINE,
        derandomize=IN_CI,
        database=None if IN_CI else settings.default.database,
        print_blob=True,
        # Building files and inventories is the point of these tests, not a slow strategy.
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


@contextlib.contextmanager
def memory_cap(headroom: int = MEMORY_HEADROOM) -> Iterator[None]:
    """Cap this process's address space at its current size plus ``headroom``.

    An input that makes a reader allocate more ends in ``MemoryError``, which the
    properties count as a failure, instead of swapping the machine to a halt.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/statm") as statm:
        current = int(statm.read().split()[0]) * resource.getpagesize()
    cap = current + headroom
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def outcome(call: Callable[[], T]) -> T | CorralError:
    """Call ``call``; its result, or the :class:`CorralError` it raised, checked to be clean.

    Any other exception propagates, and fails the property with its traceback.
    """
    try:
        return call()
    except CorralError as exc:
        assert_clean(exc)
        return exc


def assert_clean(exc: CorralError) -> None:
    """A corral error the CLI can print as ``error: file:line:col: message``."""
    assert isinstance(exc.message, str), repr(exc)
    assert exc.message.strip(), f"{type(exc).__name__} without a message"
    assert "Traceback (most recent call last)" not in str(exc), str(exc)


def mutated(texts: st.SearchStrategy[str], pieces: st.SearchStrategy[str]) -> Any:
    """``texts`` with a few ``pieces`` inserted, characters cut or spans doubled (near-valid)."""

    @st.composite
    def build(draw: Any) -> str:
        text: str = draw(texts)
        for _ in range(draw(st.integers(0, 4))):
            at = draw(st.integers(0, len(text)))
            kind = draw(st.sampled_from(["insert", "cut", "double"]))
            if kind == "insert":
                text = text[:at] + draw(pieces) + text[at:]
            elif kind == "cut":
                text = text[:at] + text[at + draw(st.integers(1, 8)) :]
            else:
                end = min(len(text), at + draw(st.integers(1, 40)))
                text = text[:end] + text[at:end] + text[end:]
        return text

    return build()
