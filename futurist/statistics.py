"""Executor statistics: an immutable snapshot and the recorder every executor shares."""

from __future__ import annotations

import bisect
import collections
import itertools
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from futurist.figures import BUCKETS, Histogram

__all__ = ["FOLD_AT", "ExecutorStatistics", "Listener", "StatisticsRecorder"]

LOG = logging.getLogger(__name__)

_E = TypeVar("_E")


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


Listener = Callable[["StatisticsRecorder", Sequence[float], Sequence[float]], None]
"""Told, as entries are folded, the run times and queue waits (seconds) recorded since."""

global_listeners: list[Listener] = []
"""Listeners every recorder tells (a metrics backend instrumenting every executor)."""

FOLD_AT = 4096
"""How many entries of one deque a recorder lets pile up before they are folded."""


class StatisticsRecorder:
    """The counters and histograms of one executor, updated as its calls start and finish.

    Why recording needs no lock: a call's path only appends to deques -- its queue wait when
    it starts, its run time when it ends (and a mark if it raised). ``deque.append`` is one C
    call that no other thread can interleave with (under the GIL, and under the deque's own
    lock in free-threaded builds), so no entry is lost. ``counter += 1`` or ``counts[i] += 1``
    would not do: the read and the write are separate steps another thread can come between.
    Entries are folded into the totals and the histograms' buckets under a lock, by whoever
    takes a snapshot or finds a deque long; each entry is popped by exactly one fold, so it
    is counted once. A fold drains the deques in the reverse of the order a call appends to
    them (failure marks, runs, starts), so a snapshot never counts a failure before its run
    nor a run before its start.

    The recorder also carries what names the executor in metrics and logs (``name``,
    ``kind``) and whether failures nobody read are logged (``log_unread_failures``).
    """

    __slots__ = (
        "__weakref__",
        "_cancelled",
        "_cancels",
        "_executed",
        "_failed",
        "_failures",
        "_lock",
        "_rejected",
        "_rejects",
        "_run_counts",
        "_runtime",
        "_started",
        "_starts",
        "_wait",
        "_wait_counts",
        "kind",
        "listeners",
        "log_unread_failures",
        "name",
        "record_start",
        "record_success",
        "runs",
    )

    def __init__(self, name: str = "", kind: str = "", log_unread_failures: bool = False) -> None:
        self.name = name
        self.kind = kind
        self.log_unread_failures = log_unread_failures
        self.listeners: list[Listener] = []
        self._lock = threading.Lock()
        self._starts: collections.deque[float] = collections.deque()
        self.runs: collections.deque[float] = collections.deque()
        """The run times recorded since the last fold (read its length, never change it)."""
        self._failed: collections.deque[None] = collections.deque()
        self._cancels: collections.deque[int] = collections.deque()
        self._rejects: collections.deque[None] = collections.deque()
        self.record_start: Callable[[float], None] = self._starts.append
        """Count one call starting after waiting the given seconds since it was accepted.

        The deque's own ``append``, called directly: a start is always followed by a run,
        whose recording folds the deques when they grow long."""
        self.record_success: Callable[[float], None] = self.runs.append
        """Count one call that ran for the given seconds without raising.

        The deque's own ``append``, called directly, for the hot path of a call that ran:
        it does not fold, so its caller calls :meth:`fold` once ``runs`` holds more than
        :data:`FOLD_AT` entries (as :meth:`record_run` does)."""
        self._clear()

    def _clear(self) -> None:
        self._failures = self._executed = self._cancelled = self._started = self._rejected = 0
        self._runtime = self._wait = 0.0
        self._run_counts = [0] * (len(BUCKETS) + 1)
        self._wait_counts = [0] * (len(BUCKETS) + 1)

    def record_run(self, runtime: float, failed: bool) -> None:
        """Count one call that ran for ``runtime`` seconds and raised if ``failed``."""
        self.runs.append(runtime)
        if failed:
            self._failed.append(None)
        if len(self.runs) > FOLD_AT:
            self.fold()

    def record_cancelled(self, count: int = 1) -> None:
        """Count ``count`` calls cancelled before they ran."""
        self._cancels.append(count)
        if len(self._cancels) > FOLD_AT:
            self.fold()

    def record_rejected(self) -> None:
        """Count one submission that ``check_and_reject`` refused."""
        self._rejects.append(None)
        if len(self._rejects) > FOLD_AT:
            self.fold()

    def snapshot(self) -> ExecutorStatistics:
        """The figures as they are now, as one consistent immutable value."""
        with self._lock:
            self._fold_locked()
            return ExecutorStatistics(
                self._failures, self._executed, self._runtime, self._cancelled
            )

    def figures(self) -> tuple[ExecutorStatistics, int, int, Histogram, Histogram]:
        """The statistics, calls started, submissions rejected, run-time and queue-wait
        histograms, all taken at one moment."""
        with self._lock:
            self._fold_locked()
            return (
                ExecutorStatistics(self._failures, self._executed, self._runtime, self._cancelled),
                self._started,
                self._rejected,
                Histogram(tuple(self._run_counts), self._runtime),
                Histogram(tuple(self._wait_counts), self._wait),
            )

    def reset(self) -> None:
        """Forget everything recorded so far."""
        with self._lock:
            self._fold_locked()
            self._clear()

    def renew_lock(self) -> None:
        """Take a new lock (in a forked child: a parent thread may have held the old one)."""
        self._lock = threading.Lock()

    def fold(self) -> None:
        """Fold the recorded entries into the totals and the histograms, telling listeners."""
        with self._lock:
            self._fold_locked()

    def _fold_locked(self) -> None:
        failures = drain_deque(self._failed)
        runs = drain_deque(self.runs)
        waits = drain_deque(self._starts)
        self._failures += len(failures)
        self._executed += len(runs)
        self._runtime += sum(runs)
        _count_into(self._run_counts, runs)
        self._started += len(waits)
        self._wait += sum(waits)
        _count_into(self._wait_counts, waits)
        self._cancelled += sum(drain_deque(self._cancels))
        self._rejected += len(drain_deque(self._rejects))
        if runs or waits:
            self._tell(runs, waits)

    def _tell(self, runs: list[float], waits: list[float]) -> None:
        """Pass newly folded figures to the listeners; one that raises is logged, not fatal."""
        for listener in (*global_listeners, *self.listeners):
            try:
                listener(self, runs, waits)
            except Exception:
                LOG.exception("metrics listener %r failed for executor %r", listener, self.name)


def drain_deque(entries: collections.deque[_E]) -> list[_E]:
    """Pop what ``entries`` holds now; entries appended meanwhile stay for the next fold.

    One ``popleft`` per entry, called from C (``starmap``): a fold costs about a third of
    what a Python loop over the same pops would.
    """
    return list(itertools.starmap(entries.popleft, itertools.repeat((), len(entries))))


def _count_into(counts: list[int], values: list[float]) -> None:
    """Add each value to its bucket of ``counts``: the first bucket whose bound it does not
    exceed, the last past every bound.

    The values are sorted (in C, comparing floats directly), then each bound is found once by
    bisection: cheaper than bisecting the bounds for every value, which took five generic
    comparisons and a counter update per value: sorting saves about 1,000 instructions a value.
    """
    ordered = sorted(values)
    below = 0
    for index, bound in enumerate(BUCKETS):
        upto = bisect.bisect_right(ordered, bound, below)
        counts[index] += upto - below
        below = upto
    counts[-1] += len(ordered) - below
