"""Process pool against the standard library: tiny tasks on two workers, crash tolerance on."""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import time
from collections.abc import Callable

import futurist
from benchmarks.harness import Figure, interleave

TINY_TASKS = 5_000
WORKERS = 2

PoolFactory = Callable[[], concurrent.futures.Executor]


def tiny(number: int) -> int:
    """A task so small that the figure measures the pool, not the work."""
    return number + 1


def per_task_us(make: PoolFactory) -> float:
    """Submit TINY_TASKS tiny tasks, then wait for all: microseconds per task.

    The workers are started (one call each) before the clock starts, so process start-up is
    not part of the figure for either pool.
    """
    with make() as pool:
        for future in [pool.submit(tiny, n) for n in range(WORKERS * 2)]:
            future.result()
        started = time.perf_counter()
        futures = [pool.submit(tiny, n) for n in range(TINY_TASKS)]
        for future in futures:
            future.result()
        elapsed = time.perf_counter() - started
    return elapsed / TINY_TASKS * 1e6


def collect(rounds: int) -> list[Figure]:
    """The process-pool figure, both pools on the platform's default start method."""
    context = multiprocessing.get_context()

    def ours() -> concurrent.futures.Executor:
        return futurist.ProcessPoolExecutor(WORKERS, context)

    def stdlib() -> concurrent.futures.Executor:
        return concurrent.futures.ProcessPoolExecutor(WORKERS, context)

    ours_us, stdlib_us = interleave(lambda: per_task_us(ours), lambda: per_task_us(stdlib), rounds)
    return [
        Figure(
            f"process pool, {TINY_TASKS:,} tiny tasks on {WORKERS} workers "
            f"({context.get_start_method()})",
            "us/task",
            ours_us,
            stdlib_us,
            "stdlib",
            target_ratio=1.0,
        )
    ]
