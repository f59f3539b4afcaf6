"""Per-task overhead on a Dask LocalCluster: DaskExecutor against ``client.get_executor()``.

Both submit the same 2,000 tiny calls to the same two-worker cluster and wait for every result;
the figure is the wall time per task, so it holds the scheduler's and workers' share as well as
the client-side overhead each executor adds. A run ends once its futures are dropped and the
scheduler has forgotten every task: releasing results is part of each side's cost. Without
that, each side's releases would be paid in whichever run comes next, and the two differ in
when they release: DaskExecutor as each call settles, ``client.get_executor()`` once its
futures are dropped.
"""

from __future__ import annotations

import concurrent.futures
import threading
import time
from typing import Any

from benchmarks.harness import Figure, interleave

TASKS = 2_000


def _tiny(value: int) -> int:
    return value


class _Forgotten:
    """Counts the tasks the scheduler forgets, so a run can wait until all of its are gone.

    The scheduler runs in this process (a ``LocalCluster``): its plugin calls ``count`` from
    the scheduler's loop and a waiting run wakes on the condition, without polling.
    """

    def __init__(self) -> None:
        self._count = 0
        self._changed = threading.Condition()

    def count(self) -> None:
        """One more task was forgotten."""
        with self._changed:
            self._count += 1
            self._changed.notify_all()

    def wait_for(self, tasks: int) -> None:
        """Wait until ``tasks`` more tasks have been forgotten, then start counting afresh."""
        with self._changed:
            self._changed.wait_for(lambda: self._count >= tasks)
            self._count -= tasks


def collect(rounds: int) -> list[Figure]:
    """Time 2,000 tiny tasks through each executor, alternating, on one LocalCluster."""
    try:
        import distributed
    except ImportError:
        print("bench_dask: skipped, distributed is not installed (pip install distributed)")
        return []
    from distributed.diagnostics.plugin import SchedulerPlugin

    from futurist.executors.dask import DaskExecutor

    forgotten = _Forgotten()

    class CountForgotten(SchedulerPlugin):
        name = "futurist-bench-forgotten"

        def transition(self, key: Any, start: str, finish: str, *args: Any, **kwargs: Any) -> None:
            if finish == "forgotten":
                forgotten.count()

    with (
        distributed.LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=2,
            threads_per_worker=1,
            host="127.0.0.1",
            dashboard_address=None,
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
        ) as cluster,
        distributed.Client(  # type: ignore[no-untyped-call]
            cluster, set_as_default=False
        ) as client,
    ):
        ours = DaskExecutor(scheduler_address=cluster.scheduler_address)
        theirs = client.get_executor(pure=False)
        cluster.scheduler.add_plugin(CountForgotten())

        def timed(executor: concurrent.futures.Executor) -> float:
            started = time.perf_counter()
            futures = [executor.submit(_tiny, n) for n in range(TASKS)]
            for future in futures:
                future.result()
            del futures, future
            forgotten.wait_for(TASKS)
            return (time.perf_counter() - started) / TASKS * 1e6

        def run_ours() -> float:
            return timed(ours)

        def run_theirs() -> float:
            return timed(theirs)

        run_ours()
        run_theirs()
        ours_us, theirs_us = interleave(run_ours, run_theirs, rounds)
        ours.shutdown()
    return [
        Figure(
            name=f"dask: {TASKS:,} tiny tasks, 2 workers, per task",
            unit="us",
            ours=ours_us,
            baseline=theirs_us,
            baseline_name="client.get_executor()",
            target_ratio=1.03,
        )
    ]
