"""What observing costs: context propagation per task, and one Prometheus scrape of 20 pools.

The live figures and histograms are always on, so the thread pool figures of ``bench_core``
already include them.
"""

from __future__ import annotations

import concurrent.futures
import time

import futurist
from benchmarks.bench_core import noop, per_task_us
from benchmarks.harness import Figure, interleave

EXECUTORS = 20
SCRAPES = 50


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

    on, off = interleave(lambda: per_task_us(with_context), lambda: per_task_us(without), rounds)
    scrape = min(scrape_ms() for _ in range(rounds))
    return [
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
