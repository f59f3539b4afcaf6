"""One callable's run statistics: counted in place by its worker, read whole by its watcher.

The worker counts each run by adding to a :class:`Tally`'s fields while it holds its own
lock (the one the tally is given), so counting takes no second lock and allocates nothing. A
:class:`~futurist.periodics.Watcher` reads them through :meth:`Tally.figures`, under that same
lock, so every figure it reports comes from one moment (``runs`` is always ``successes +
failures``).
"""

from __future__ import annotations

import contextlib
from typing import NamedTuple, Protocol

__all__ = ["Figures", "Lock", "Tally"]


class Lock(Protocol):
    """What a tally needs of the lock its worker counts under."""

    def __enter__(self) -> object: ...
    def __exit__(self, *exc: object) -> object: ...


class Figures(NamedTuple):
    """A tally's figures at one moment."""

    runs: int
    successes: int
    failures: int
    elapsed: float
    elapsed_waiting: float
    requested_stop: bool
    skipped: int
    coalesced: int


class Tally:
    """The counters of one callable; the worker writes them while holding ``lock``.

    ``successes`` and ``failures`` count runs; ``elapsed`` and ``waiting`` sum seconds spent
    running and waiting to start after the due time; ``stopped`` is set by ``NeverAgain``;
    ``skipped`` and ``coalesced`` count missed runs.
    """

    __slots__ = (
        "coalesced",
        "elapsed",
        "failures",
        "lock",
        "skipped",
        "stopped",
        "successes",
        "waiting",
    )

    def __init__(self, lock: Lock | None = None) -> None:
        self.lock: Lock = contextlib.nullcontext() if lock is None else lock
        self.reset()

    def record(self, elapsed: float, waiting: float, failed: bool, never_again: bool) -> None:
        """Count one run (the caller holds the lock)."""
        if failed:
            self.failures += 1
        else:
            self.successes += 1
        self.elapsed += elapsed
        self.waiting += waiting
        if never_again:
            self.stopped = True

    def count_missed(self, skipped: int, coalesced: int) -> None:
        """Count skipped (misfire grace) and coalesced runs (the caller holds the lock)."""
        self.skipped += skipped
        self.coalesced += coalesced

    def reset(self) -> None:
        """Forget every run (the caller holds the lock)."""
        self.successes = 0
        self.failures = 0
        self.elapsed = 0.0
        self.waiting = 0.0
        self.stopped = False
        self.skipped = 0
        self.coalesced = 0

    def figures(self) -> Figures:
        """Every figure, read under the lock."""
        with self.lock:
            return Figures(
                self.successes + self.failures,
                self.successes,
                self.failures,
                self.elapsed,
                self.waiting,
                self.stopped,
                self.skipped,
                self.coalesced,
            )
