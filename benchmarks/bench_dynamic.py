"""Dynamic pool: no-op calls through DynamicThreadPoolExecutor against our ThreadPoolExecutor.

Both pools get the same workload (submit every call, then shut down waiting for all), with the
same ``max_workers``; the figure is microseconds per call.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from benchmarks.harness import Figure, interleave
from futurist import DynamicThreadPoolExecutor, ThreadPoolExecutor
from futurist.executors.thread import default_thread_count

__all__ = ["collect"]

TASKS = 50_000


def _noop() -> None:
    return None


def _per_task(make: Callable[[], ThreadPoolExecutor]) -> float:
    started = time.perf_counter()
    executor = make()
    submit = executor.submit
    for _ in range(TASKS):
        submit(_noop)
    executor.shutdown(wait=True)
    return (time.perf_counter() - started) / TASKS * 1e6


def collect(rounds: int) -> list[Figure]:
    """Median µs per call for the dynamic pool and the plain pool, interleaved over ``rounds``."""
    workers = default_thread_count()
    ours, baseline = interleave(
        lambda: _per_task(lambda: DynamicThreadPoolExecutor(max_workers=workers)),
        lambda: _per_task(lambda: ThreadPoolExecutor(max_workers=workers)),
        rounds,
    )
    return [
        Figure(
            name=f"dynamic thread pool, {TASKS:,} no-op tasks",
            unit="µs/task",
            ours=ours,
            baseline=baseline,
            baseline_name="futurist ThreadPoolExecutor",
            target_ratio=1.2,
        )
    ]
