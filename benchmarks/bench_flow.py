"""Flow control: prioritized against plain submission (thread and process pools), and how fast a
waiting submitter wakes."""

from __future__ import annotations

import functools
import multiprocessing
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import futurist
from benchmarks.harness import Figure, interleave
from futurist import rejection
from futurist.executors.base import Executor

WAKES = 1_000
BUSY_SECONDS = 0.0005
"""How long the running call works (simulated I/O); a sample counts only if the submitter
was already waiting when it ended."""


def noop() -> None:
    """The smallest possible task."""


Submit = Callable[[int], "futurist.Future[None]"]
"""Submits task ``number``."""


@dataclass(frozen=True)
class Pool:
    """A pool to measure: how to build it, how many no-ops to time, how many calls warm it."""

    label: str
    make: Callable[[], Executor]
    tasks: int
    warm: int


def thread_pool() -> Executor:
    return futurist.ThreadPoolExecutor(max_workers=10)


def process_pool() -> Executor:
    return futurist.ProcessPoolExecutor(2, multiprocessing.get_context())


POOLS = (
    Pool("thread pool: 50,000 no-ops", thread_pool, 50_000, 1),
    # Its workers start (one call each) before the clock starts, as in bench_process.
    Pool("process pool: 5,000 no-ops on 2 workers", process_pool, 5_000, 4),
)


def per_task_us(pool: Pool, submitter: Callable[[Executor], Submit]) -> float:
    """Submit ``pool.tasks`` no-ops through ``submitter`` on a fresh pool, wait for all: us/task."""
    with pool.make() as executor:
        submit = submitter(executor)
        for future in [submit(number) for number in range(pool.warm)]:
            future.result()
        started = time.perf_counter()
        futures = [submit(number) for number in range(pool.tasks)]
        for future in futures:
            future.result()
        elapsed = time.perf_counter() - started
    return elapsed / pool.tasks * 1e6


def plain(executor: Executor) -> Submit:
    return lambda number: executor.submit(noop)


def prioritized(executor: Executor) -> Submit:
    """Four priority levels in turn, each with a submitter made once (the usual way)."""
    levels = [executor.prioritized(level) for level in range(4)]
    return lambda number: levels[number % 4].submit(noop)


def prioritized_each_time(executor: Executor) -> Submit:
    """Four priority levels in turn, making the submitter on every call."""
    return lambda number: executor.prioritized(number % 4).submit(noop)


def busy(ended: list[float]) -> None:
    """Simulated work: hold the only worker for BUSY_SECONDS, then note when the call ended."""
    time.sleep(BUSY_SECONDS)
    ended.append(time.perf_counter())


def wake_latencies_us() -> list[float]:
    """From the end of the running call to the return of a submit that waited for room."""
    policy = rejection.wait_when_reached(1)
    samples: list[float] = []
    with futurist.ThreadPoolExecutor(max_workers=1, check_and_reject=policy) as pool:
        for _ in range(WAKES):
            ended: list[float] = []
            done = threading.Event()
            pool.submit(busy, ended)
            pool.submit(done.set)  # queued: the backlog is now full
            waiting_since = time.perf_counter()
            pool.submit(noop)  # waits until the busy call ends and done.set starts
            returned = time.perf_counter()
            done.wait()
            if waiting_since < ended[0]:
                # Only a submitter that was waiting when the call ended measures a wake-up.
                samples.append((returned - ended[0]) * 1e6)
    return samples


def collect(rounds: int) -> list[Figure]:
    """Prioritized submission against plain, and the waiting submitter's wake latency."""
    figures = []
    for pool in POOLS:
        for label, submitter in (
            ("prioritized (4 levels)", prioritized),
            ("prioritized(p) on each call", prioritized_each_time),
        ):
            ours, theirs = interleave(
                functools.partial(per_task_us, pool, submitter),
                functools.partial(per_task_us, pool, plain),
                rounds,
            )
            figures.append(
                Figure(
                    f"{pool.label}, {label}",
                    "us/task",
                    ours,
                    theirs,
                    "plain submit",
                    target_ratio=1.2,
                )
            )
    samples = wake_latencies_us()
    if len(samples) < 2:
        raise RuntimeError(
            f"only {len(samples)} of {WAKES} submitters were still waiting when the busy call "
            "ended; raise BUSY_SECONDS on this machine"
        )
    for label, pick in (("p50", 50), ("p99", 99)):
        figures.append(
            Figure(
                f"thread pool: submitter waiting for room, wake {label}",
                "us",
                statistics.quantiles(samples, n=100)[pick - 1],
            )
        )
    return figures
