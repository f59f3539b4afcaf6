"""Executor statistics: an immutable snapshot and the recorder every executor shares."""

from __future__ import annotations

import collections
import threading
from dataclasses import dataclass

__all__ = ["ExecutorStatistics", "StatisticsRecorder"]


@dataclass(frozen=True, slots=True)
class ExecutorStatistics:
    """Immutable figures about an executor's work, taken at one moment.

    ``runtime`` is the total time, in seconds, that calls spent running (never time spent
    queued); ``executed`` counts calls that ran, failed or not; ``failures`` those that raised;
    ``cancelled`` those cancelled before they ran.
    """

    failures: int = 0
    executed: int = 0
    runtime: float = 0.0
    cancelled: int = 0

    @property
    def average_runtime(self) -> float:
        """Mean runtime of the executed calls; ``ZeroDivisionError`` when none executed."""
        return self.runtime / self.executed


class StatisticsRecorder:
    """Thread-safe counters behind :class:`ExecutorStatistics`, updated as work finishes.

    Recording appends to a deque (atomic, no lock: it is on every call's path); the entries are
    folded into the totals under a lock when a snapshot is taken or the deque grows long.
    """

    __slots__ = ("_cancelled", "_executed", "_failures", "_lock", "_pending", "_runtime")

    _FOLD_AT = 4096

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: collections.deque[tuple[float, bool] | int] = collections.deque()
        self._failures = 0
        self._executed = 0
        self._runtime = 0.0
        self._cancelled = 0

    def record_run(self, runtime: float, failed: bool) -> None:
        """Count one call that ran for ``runtime`` seconds and raised if ``failed``."""
        self._pending.append((runtime, failed))
        if len(self._pending) > self._FOLD_AT:
            self._fold()

    def record_cancelled(self, count: int = 1) -> None:
        """Count ``count`` calls cancelled before they ran."""
        self._pending.append(count)
        if len(self._pending) > self._FOLD_AT:
            self._fold()

    def snapshot(self) -> ExecutorStatistics:
        """The figures as they are now, as one consistent immutable value."""
        with self._lock:
            self._fold_locked()
            return ExecutorStatistics(
                self._failures, self._executed, self._runtime, self._cancelled
            )

    def reset(self) -> None:
        """Forget everything recorded so far."""
        with self._lock:
            self._fold_locked()
            self._failures = self._executed = self._cancelled = 0
            self._runtime = 0.0

    def _fold(self) -> None:
        with self._lock:
            self._fold_locked()

    def _fold_locked(self) -> None:
        pending = self._pending
        while True:
            try:
                entry = pending.popleft()
            except IndexError:
                return
            if isinstance(entry, int):
                self._cancelled += entry
            else:
                self._executed += 1
                self._runtime += entry[0]
                if entry[1]:
                    self._failures += 1
