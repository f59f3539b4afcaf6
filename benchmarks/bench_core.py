"""Thread pool and synchronous executor against the standard library and against the floor.

The floor is the least a pool can do per call on futurist's own Future
(:class:`benchmarks.floor.MinimalPool`), and for the synchronous kind a bare call setting a
futurist Future: the ratio to it is what the shared front (contract, statistics, histograms,
metrics) costs per call.
"""

from __future__ import annotations

import concurrent.futures
import gc
import statistics
import threading
import time
import tracemalloc
from collections.abc import Callable

import futurist
from benchmarks.floor import MinimalPool, bare_call_and_future_us
from benchmarks.harness import Figure, interleave, interleave_all

NOOP_TASKS = 50_000
WARM_UP_TASKS = 200
ROUND_TRIPS = 2_000
SYNC_CALLS = 50_000
QUEUED_TASKS = 10_000

PoolFactory = Callable[[], concurrent.futures.Executor]


def noop() -> None:
    """The smallest possible task."""


def per_task_us(make: PoolFactory) -> float:
    """Submit NOOP_TASKS no-ops, then wait for all of them: microseconds per task.

    As ``thread_floor.py`` does, the pool first runs WARM_UP_TASKS calls (so every thread
    is started) and the garbage collector runs once before the clock starts, so that no
    pool pays for the objects an earlier round or import left in the young generations.
    """
    with make() as pool:
        for future in [pool.submit(noop) for _ in range(WARM_UP_TASKS)]:
            future.result()
        gc.collect()
        started = time.perf_counter()
        futures = [pool.submit(noop) for _ in range(NOOP_TASKS)]
        for future in futures:
            future.result()
        elapsed = time.perf_counter() - started
    return elapsed / NOOP_TASKS * 1e6


def round_trips_us(make: PoolFactory) -> list[float]:
    """One submit then result at a time: each round trip in microseconds."""
    samples = []
    with make() as pool:
        pool.submit(noop).result()
        for _ in range(ROUND_TRIPS):
            started = time.perf_counter()
            pool.submit(noop).result()
            samples.append((time.perf_counter() - started) * 1e6)
    return samples


def idle_shutdown_ms(make: PoolFactory) -> float:
    """How long shutdown(wait=True) takes on a pool that has nothing to do."""
    pool = make()
    pool.submit(noop).result()
    started = time.perf_counter()
    pool.shutdown(wait=True)
    return (time.perf_counter() - started) * 1e3


def bytes_per_queued_task(make: PoolFactory) -> float:
    """Memory held per call waiting in the queue of a one-thread pool kept busy."""
    release = threading.Event()
    with make() as pool:
        pool.submit(release.wait)
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        futures = [pool.submit(noop) for _ in range(QUEUED_TASKS)]
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        release.set()
        for future in futures:
            future.result()
    return (after - before) / QUEUED_TASKS


def synchronous_us() -> float:
    """SynchronousExecutor submit + result, microseconds per call."""
    executor = futurist.SynchronousExecutor()
    started = time.perf_counter()
    for _ in range(SYNC_CALLS):
        executor.submit(noop).result()
    return (time.perf_counter() - started) / SYNC_CALLS * 1e6


def collect(rounds: int) -> list[Figure]:
    """Every foundation figure, ours against the standard library."""

    def ours() -> concurrent.futures.Executor:
        return futurist.ThreadPoolExecutor(max_workers=10)

    def theirs() -> concurrent.futures.Executor:
        return concurrent.futures.ThreadPoolExecutor(max_workers=10)

    def floor() -> concurrent.futures.Executor:
        return MinimalPool(10)

    def single_ours() -> concurrent.futures.Executor:
        return futurist.ThreadPoolExecutor(max_workers=1)

    def single_theirs() -> concurrent.futures.Executor:
        return concurrent.futures.ThreadPoolExecutor(max_workers=1)

    figures = []
    ours_task, theirs_task, floor_task = interleave_all(
        [lambda: per_task_us(ours), lambda: per_task_us(theirs), lambda: per_task_us(floor)],
        rounds,
    )
    figures.append(
        Figure(
            "thread pool: 50,000 no-op tasks",
            "us/task",
            ours_task,
            theirs_task,
            "stdlib",
            target_ratio=1.0,
        )
    )
    figures.append(
        Figure(
            "thread pool: 50,000 no-op tasks",
            "us/task",
            ours_task,
            floor_task,
            "floor (minimal pool, futurist Future)",
            target_ratio=1.5,
        )
    )
    ours_trips: list[float] = []
    theirs_trips: list[float] = []
    for _ in range(rounds):
        ours_trips += round_trips_us(ours)
        theirs_trips += round_trips_us(theirs)
    for label, pick in (("p50", 50), ("p99", 99)):
        figures.append(
            Figure(
                f"thread pool: submit->result round trip {label}",
                "us",
                statistics.quantiles(ours_trips, n=100)[pick - 1],
                statistics.quantiles(theirs_trips, n=100)[pick - 1],
                "stdlib",
                target_ratio=1.0,
            )
        )
    ours_sync, bare_std, bare_ours = interleave_all(
        [
            synchronous_us,
            lambda: bare_call_and_future_us(concurrent.futures.Future, SYNC_CALLS, noop),
            lambda: bare_call_and_future_us(futurist.Future, SYNC_CALLS, noop),
        ],
        rounds,
    )
    figures.append(
        Figure(
            "synchronous: submit+result",
            "us/call",
            ours_sync,
            bare_std,
            "bare call + stdlib Future",
            target_ratio=1.3,
        )
    )
    figures.append(
        Figure(
            "synchronous: submit+result",
            "us/call",
            ours_sync,
            bare_ours,
            "floor (bare call + futurist Future)",
            target_ratio=1.0,
        )
    )
    ours_idle, theirs_idle = interleave(
        lambda: idle_shutdown_ms(ours), lambda: idle_shutdown_ms(theirs), rounds
    )
    figures.append(
        Figure(
            "thread pool: idle shutdown",
            "ms",
            ours_idle,
            theirs_idle,
            "stdlib",
            target_absolute=5.0,
        )
    )
    ours_memory, theirs_memory = interleave(
        lambda: bytes_per_queued_task(single_ours),
        lambda: bytes_per_queued_task(single_theirs),
        rounds,
    )
    figures.append(
        Figure(
            "thread pool: memory per queued task",
            "bytes",
            ours_memory,
            theirs_memory,
            "stdlib",
            target_ratio=1.0,
        )
    )
    return figures
