"""What observing costs: the live figures, context propagation, one scrape of 20 pools.

The live figures and histograms are always on, so the thread pool figures of ``bench_core``
already include them; here the same pool runs once more with a recorder that keeps only
futurist 3.5's four statistics, to show what the rest costs.
"""

from __future__ import annotations

import concurrent.futures
import time

import futurist
from benchmarks.bench_core import noop, per_task_us
from benchmarks.harness import Figure, interleave
from futurist.statistics import StatisticsRecorder

EXECUTORS = 20
SCRAPES = 50


class StatisticsOnly(StatisticsRecorder):
    """Counts what futurist 3.5 counted (failures, executed, runtime, cancelled) and nothing
    else: no queue wait, no calls started, no histograms."""

    def __init__(self) -> None:
        super().__init__()
        self.record_start = _ignore

    def _fold_locked(self) -> None:
        runs = [self.runs.popleft() for _ in range(len(self.runs))]
        self._executed += len(runs)
        self._runtime += sum(runs)
        self._failures += len([self._failed.popleft() for _ in range(len(self._failed))])
        self._cancelled += sum(self._cancels.popleft() for _ in range(len(self._cancels)))


def _ignore(queue_wait: float) -> None:
    """A start that is not counted."""


def statistics_only_pool() -> concurrent.futures.Executor:
    """The thread pool of ``bench_core`` recording only futurist 3.5's four statistics."""
    pool = futurist.ThreadPoolExecutor(max_workers=10)
    pool._recorder = StatisticsOnly()
    return pool


def scrape_ms() -> float:
    """Milliseconds to render one scrape of ``EXECUTORS`` thread pools that have done work."""
    from prometheus_client import CollectorRegistry, generate_latest

    from futurist import metrics

    registry = CollectorRegistry()
    pools = [futurist.ThreadPoolExecutor(max_workers=2) for _ in range(EXECUTORS)]
    try:
        for pool in pools:
            metrics.instrument("prometheus", pool, registry=registry)
            for future in [pool.submit(noop) for _ in range(100)]:
                future.result()
        generate_latest(registry)
        started = time.perf_counter()
        for _ in range(SCRAPES):
            generate_latest(registry)
        return (time.perf_counter() - started) / SCRAPES * 1e3
    finally:
        for pool in pools:
            pool.shutdown()


def collect(rounds: int) -> list[Figure]:
    """Context propagation against none, and the scrape time."""

    def with_context() -> concurrent.futures.Executor:
        return futurist.ThreadPoolExecutor(max_workers=10, propagate_context=True)

    def without() -> concurrent.futures.Executor:
        return futurist.ThreadPoolExecutor(max_workers=10)

    live, counts_only = interleave(
        lambda: per_task_us(without), lambda: per_task_us(statistics_only_pool), rounds
    )
    on, off = interleave(lambda: per_task_us(with_context), lambda: per_task_us(without), rounds)
    scrape = min(scrape_ms() for _ in range(rounds))
    return [
        Figure(
            "thread pool: live figures on",
            "us/task",
            live,
            counts_only,
            "3.5 stats only",
            target_ratio=1.10,
        ),
        Figure(
            "thread pool: propagate_context on",
            "us/task",
            on,
            off,
            "off",
            target_ratio=1.15,
        ),
        Figure(f"prometheus: one scrape of {EXECUTORS} thread pools", "ms", scrape),
    ]
