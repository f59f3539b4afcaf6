"""What the backends publish, defined once: each figure's names, type, unit and meaning, and
which executors an instrumentation covers."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from futurist.executors.base import live_executors
from futurist.figures import ExecutorMetrics, Histogram

if TYPE_CHECKING:
    from futurist.executors.base import Executor
    from futurist.statistics import StatisticsRecorder

__all__ = ["FIGURES", "HISTOGRAMS", "Figure", "HistogramFigure", "Selection"]


@dataclass(frozen=True, slots=True)
class Figure:
    """One number per executor: a ``counter`` (only grows) or a ``gauge`` (goes up and down)."""

    otel: str
    prometheus: str
    type: str
    unit: str
    description: str
    read: Callable[[ExecutorMetrics], int | None]
    """The figure's value, or None where the executor has no such figure."""


@dataclass(frozen=True, slots=True)
class HistogramFigure:
    """A distribution of durations in seconds, over :data:`futurist.metrics.BUCKETS`."""

    otel: str
    prometheus: str
    description: str
    read: Callable[[ExecutorMetrics], Histogram]


FIGURES = (
    Figure(
        "futurist.executor.queue.length",
        "futurist_executor_queue_length",
        "gauge",
        "{call}",
        "Calls accepted and waiting for a worker (the backlog check_and_reject sees).",
        lambda m: m.queued,
    ),
    Figure(
        "futurist.executor.queue.capacity",
        "futurist_executor_queue_capacity",
        "gauge",
        "{call}",
        "The most calls that may wait for a worker (max_backlog); absent where unbounded.",
        lambda m: m.queue_capacity,
    ),
    Figure(
        "futurist.executor.call.active",
        "futurist_executor_call_active",
        "gauge",
        "{call}",
        "Calls running now.",
        lambda m: m.running,
    ),
    Figure(
        "futurist.executor.worker.count",
        "futurist_executor_workers",
        "gauge",
        "{worker}",
        "Workers (threads, processes, green threads) the executor has now.",
        lambda m: m.workers,
    ),
    Figure(
        "futurist.executor.worker.core",
        "futurist_executor_worker_core",
        "gauge",
        "{worker}",
        "The workers the executor keeps while idle (min_workers); absent for kinds without.",
        lambda m: m.core_workers,
    ),
    Figure(
        "futurist.executor.worker.max",
        "futurist_executor_worker_max",
        "gauge",
        "{worker}",
        "The most workers the executor runs at once (max_workers).",
        lambda m: m.max_workers,
    ),
    Figure(
        "futurist.executor.call.executed",
        "futurist_executor_call_executed",
        "counter",
        "{call}",
        "Calls that ran, failed or not.",
        lambda m: m.statistics.executed,
    ),
    Figure(
        "futurist.executor.call.failed",
        "futurist_executor_call_failed",
        "counter",
        "{call}",
        "Calls that ran and raised.",
        lambda m: m.statistics.failures,
    ),
    Figure(
        "futurist.executor.call.cancelled",
        "futurist_executor_call_cancelled",
        "counter",
        "{call}",
        "Calls cancelled before they ran.",
        lambda m: m.statistics.cancelled,
    ),
    Figure(
        "futurist.executor.call.rejected",
        "futurist_executor_call_rejected",
        "counter",
        "{call}",
        "Submissions check_and_reject refused.",
        lambda m: m.rejected,
    ),
)
"""The numbers every backend publishes per executor (``queue.capacity``, ``worker.core`` and
``worker.max`` only where there is such a bound)."""

HISTOGRAMS = (
    HistogramFigure(
        "futurist.executor.call.duration",
        "futurist_executor_call_duration_seconds",
        "How long calls ran, in seconds (queue wait excluded).",
        lambda m: m.run_time,
    ),
    HistogramFigure(
        "futurist.executor.call.wait_time",
        "futurist_executor_call_wait_time_seconds",
        "How long calls waited between acceptance and start, in seconds.",
        lambda m: m.queue_wait,
    ),
)
"""The distributions every backend publishes per executor."""


class Selection:
    """The executors one instrumentation covers: some named ones, or every executor."""

    def __init__(self) -> None:
        self._every = False
        self._lock = threading.Lock()
        """Guards the weak set of executors: a set listed while another thread adds to it
        raises."""
        self._executors: weakref.WeakSet[Executor] = weakref.WeakSet()
        self._recorders: weakref.WeakSet[StatisticsRecorder] = weakref.WeakSet()

    def add(self, executor: Executor | None) -> None:
        """Cover ``executor``, or every executor when None; covering one twice changes nothing."""
        if executor is None:
            self._every = True
            return
        with self._lock:
            self._executors.add(executor)
            self._recorders.add(executor.recorder)

    def executors(self) -> list[Executor]:
        """The covered executors alive now, each once."""
        if self._every:
            return live_executors()
        with self._lock:
            return list(self._executors)

    def covers(self, recorder: StatisticsRecorder) -> bool:
        """Whether the executor that owns ``recorder`` is covered."""
        return self._every or recorder in self._recorders

    def snapshots(self) -> list[ExecutorMetrics]:
        """The figures of every covered executor, taken now."""
        return [executor.metrics for executor in self.executors()]
