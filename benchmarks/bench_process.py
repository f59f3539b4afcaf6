"""Process pool against the standard library: tiny tasks on two workers, crash tolerance on."""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import time
from collections.abc import Callable
from multiprocessing.context import BaseContext

import futurist
from benchmarks.harness import Figure, interleave

TINY_TASKS = 5_000
WORKERS = 2

PoolFactory = Callable[[], concurrent.futures.Executor]


def tiny(number: int) -> int:
    """A task so small that the figure measures the pool, not the work."""
    return number + 1


def per_task_us(make: PoolFactory, task: Callable[[int], int] = tiny) -> float:
    """Submit TINY_TASKS calls of ``task``, then wait for all: microseconds per task.

    The workers are started (one call each) before the clock starts, so process start-up is
    not part of the figure for either pool.
    """
    with make() as pool:
        for future in [pool.submit(tiny, n) for n in range(WORKERS * 2)]:
            future.result()
        started = time.perf_counter()
        futures = [pool.submit(task, n) for n in range(TINY_TASKS)]
        for future in futures:
            future.result()
        elapsed = time.perf_counter() - started
    return elapsed / TINY_TASKS * 1e6


def first_call_ms(make: PoolFactory) -> float:
    """A new pool's first call, start-up of its worker included: milliseconds."""
    started = time.perf_counter()
    with make() as pool:
        pool.submit(tiny, 1).result()
        elapsed = time.perf_counter() - started
    return elapsed * 1e3


def collect(rounds: int) -> list[Figure]:
    """Both pools on fork and on forkserver (3.14's default on Linux); start-up; by value."""
    figures = []
    for method in ("fork", "forkserver"):
        context = multiprocessing.get_context(method)

        def ours(context: BaseContext = context) -> concurrent.futures.Executor:
            return futurist.ProcessPoolExecutor(WORKERS, context)

        def stdlib(context: BaseContext = context) -> concurrent.futures.Executor:
            return concurrent.futures.ProcessPoolExecutor(WORKERS, context)

        ours_us, stdlib_us = interleave(
            lambda: per_task_us(ours), lambda: per_task_us(stdlib), rounds
        )
        ours_ms, stdlib_ms = interleave(
            lambda: first_call_ms(ours), lambda: first_call_ms(stdlib), rounds
        )
        tasks = f"{TINY_TASKS:,} tiny tasks on {WORKERS} workers ({method})"
        figures += [
            Figure(f"process pool, {tasks}", "us/task", ours_us, stdlib_us, "stdlib", 1.0),
            Figure(f"process pool: first call ({method})", "ms", ours_ms, stdlib_ms, "stdlib"),
        ]
    # On forkserver, the last context above: a lambda must go by value to reach its workers.
    lambda_us, plain_us = interleave(
        lambda: per_task_us(ours, lambda number: number + 1), lambda: per_task_us(ours), rounds
    )
    by_value = f"process pool, tiny lambdas by value ({method})"
    figures.append(Figure(by_value, "us/task", lambda_us, plain_us, "module function"))
    return figures
