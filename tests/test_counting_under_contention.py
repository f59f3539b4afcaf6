"""Counts add up exactly when threads switch as often as the interpreter allows.

A switch interval of a microsecond makes a thread switch likely between any two bytecodes, as
the threads of a free-threaded build interleave anywhere: a counter updated by a read and a
write would lose updates here.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

import futurist
from futurist.metrics import BUCKETS
from futurist.statistics import StatisticsRecorder

WAIT = 60.0
THREADS = 8


pytestmark = pytest.mark.usefixtures("short_switch_interval")


def run_together(target: Any, count: int = THREADS) -> None:
    """Run ``target(index)`` on ``count`` threads released at once; wait for them all."""
    start = threading.Barrier(count)

    def run(index: int) -> None:
        start.wait(WAIT)
        target(index)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
        assert not thread.is_alive()


def test_the_recorder_counts_every_update_while_another_thread_takes_snapshots() -> None:
    recorder = StatisticsRecorder()
    per_thread = 3000
    writers_done = threading.Event()
    seen: list[futurist.ExecutorStatistics] = []

    def take_snapshots() -> None:
        while not writers_done.is_set():
            seen.append(recorder.snapshot())

    def write(index: int) -> None:
        for n in range(per_thread):
            recorder.record_start(0.0)
            recorder.record_run(BUCKETS[n % 3], n % 5 == 0)
            recorder.record_cancelled(2)
            recorder.record_rejected()

    reader = threading.Thread(target=take_snapshots)
    reader.start()
    try:
        run_together(write)
    finally:
        writers_done.set()
        reader.join(WAIT)
    statistics, started, rejected, run_time, queue_wait = recorder.figures()
    total = per_thread * THREADS
    assert (statistics.executed, statistics.cancelled) == (total, 2 * total)
    assert statistics.failures == len(range(0, per_thread, 5)) * THREADS
    assert (started, rejected, run_time.count, queue_wait.count) == (total,) * 4
    assert run_time.counts[:3] == tuple(len(range(k, per_thread, 3)) * THREADS for k in range(3))
    assert all(snapshot.failures <= snapshot.executed for snapshot in seen)
    executed = [snapshot.executed for snapshot in seen]
    assert executed == sorted(executed)


def fail_every_fourth(n: int) -> int:
    if n % 4 == 0:
        raise ValueError(n)
    return n


def test_an_executor_fed_from_many_threads_counts_every_call() -> None:
    per_thread = 500
    with futurist.ThreadPoolExecutor(max_workers=4) as executor:

        def submit(index: int) -> None:
            futures = [executor.submit(fail_every_fourth, n) for n in range(per_thread)]
            raised = [future.exception(WAIT) for future in futures]
            assert sum(error is not None for error in raised) == len(range(0, per_thread, 4))

        run_together(submit)
        metrics = executor.metrics
    total = per_thread * THREADS
    assert metrics.statistics.executed == total
    assert metrics.statistics.failures == len(range(0, per_thread, 4)) * THREADS
    assert (metrics.run_time.count, metrics.queue_wait.count) == (total, total)
    assert (metrics.queued, metrics.running) == (0, 0)
