"""Run N tasks of a workload on one executor, reporting progress, until done or interrupted.

One loop in the caller's thread submits the tasks (waiting for the oldest one when
``check_and_reject`` refuses a submission), then waits for them in submission order, with a
short timeout so progress is reported and an interrupt is noticed. Completions are counted by
done callbacks, whatever thread they run in. An interrupt stops submitting, cancels what has not
started and waits for what is running. A rejection while nothing is pending would never
clear, so it is raised. With a priority mix each task is submitted with the next priority of the
mix, and the latencies are kept per priority too.
"""

from __future__ import annotations

import collections
import concurrent.futures
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from futurist import waiters
from futurist.cli.workloads import Workload
from futurist.exceptions import RejectedSubmission
from futurist.executors.base import Executor
from futurist.statistics import ExecutorStatistics

__all__ = ["Interrupt", "Outcome", "Progress", "run_workload"]

Progress = Callable[[int, int], None]
"""Called as ``progress(done, failures)`` every tick and once at the end."""

_TICK = 0.1


class Interrupt:
    """Set by the command's SIGINT handler; the loop checks it between waits."""

    __slots__ = ("requested",)

    def __init__(self) -> None:
        self.requested = False


@dataclass(frozen=True)
class Outcome:
    """What one run did: the executor's statistics plus the command's own measurements.

    ``wall_time`` runs from the first submission until the last task ended; ``latencies`` are
    the seconds from each task's submission to its end, for tasks that ran; ``queue_wait`` is
    the total time tasks waited between acceptance and start (apart from their runtime).
    """

    kind: str
    work: str
    tasks: int
    submitted: int
    statistics: ExecutorStatistics
    wall_time: float
    latencies: tuple[float, ...]
    interrupted: bool
    priority_latencies: dict[int, tuple[float, ...]] = field(default_factory=dict)
    """With a priority mix: the latencies of the tasks of each priority."""
    queue_wait: float = 0.0

    @property
    def not_submitted(self) -> int:
        """Tasks never submitted because the run was interrupted first."""
        return self.tasks - self.submitted

    @property
    def throughput(self) -> float:
        """Tasks executed per second of wall time."""
        return self.statistics.executed / self.wall_time if self.wall_time > 0 else 0.0

    @property
    def average_runtime(self) -> float | None:
        """Mean runtime of the executed tasks, or None when none executed."""
        stats = self.statistics
        return stats.average_runtime if stats.executed else None

    @property
    def average_queue_wait(self) -> float | None:
        """Mean time the executed tasks waited before they started, or None when none did."""
        executed = self.statistics.executed
        return self.queue_wait / executed if executed else None

    def latency(self, percent: float, priority: int | None = None) -> float | None:
        """The ``percent`` percentile (nearest rank) of the latencies (of one ``priority``'s
        tasks if given), None if none ran."""
        latencies = self.latencies if priority is None else self.priority_latencies[priority]
        if not latencies:
            return None
        ordered = sorted(latencies)
        rank = max(math.ceil(percent / 100 * len(ordered)), 1)
        return ordered[rank - 1]

    def as_dict(self) -> dict[str, Any]:
        """The outcome as plain JSON-ready values (seconds, tasks per second)."""
        stats = self.statistics
        return {
            "kind": self.kind,
            "work": self.work,
            "tasks": self.tasks,
            "submitted": self.submitted,
            "not_submitted": self.not_submitted,
            "executed": stats.executed,
            "failures": stats.failures,
            "cancelled": stats.cancelled,
            "runtime": stats.runtime,
            "average_runtime": self.average_runtime,
            "queue_wait": self.queue_wait,
            "average_queue_wait": self.average_queue_wait,
            "wall_time": self.wall_time,
            "throughput": self.throughput,
            "latency_p50": self.latency(50),
            "latency_p99": self.latency(99),
            "interrupted": self.interrupted,
            "priorities": {
                str(priority): {
                    "executed": len(latencies),
                    "latency_p50": self.latency(50, priority),
                    "latency_p99": self.latency(99, priority),
                }
                for priority, latencies in sorted(self.priority_latencies.items(), reverse=True)
            },
        }


class _Tally:
    """Completions counted by done callbacks; ``list.append`` is atomic, so no lock."""

    def __init__(self, priorities: tuple[int, ...]) -> None:
        self.latencies: list[float] = []
        self.failures: list[int] = []
        self.by_priority: dict[int, list[float]] = {priority: [] for priority in priorities}

    def watch(
        self, future: concurrent.futures.Future[Any], submitted: float, priority: int | None
    ) -> None:
        def done(future: concurrent.futures.Future[Any]) -> None:
            if future.cancelled():
                return
            latency = time.perf_counter() - submitted
            self.latencies.append(latency)
            if priority is not None:
                self.by_priority[priority].append(latency)
            if future.exception() is not None:
                self.failures.append(1)

        future.add_done_callback(done)


def run_workload(  # noqa: PLR0913 -- the workload, its size and three hooks of the command, by name
    executor: Executor,
    kind: str,
    workload: Workload,
    tasks: int,
    *,
    interrupt: Interrupt,
    progress: Progress,
    notice: Callable[[str], None],
    priorities: tuple[int, ...] = (),
) -> Outcome:
    """Run ``tasks`` tasks of ``workload`` on ``executor`` and shut it down; see the module.

    ``notice`` receives a line to show when an interrupt is noticed; ``priorities`` is one turn
    of a priority mix (empty: plain submissions).
    """
    tally = _Tally(priorities)
    pending: collections.deque[concurrent.futures.Future[Any]] = collections.deque()
    submitted = 0
    started = last_report = time.perf_counter()
    try:
        while not interrupt.requested:
            if submitted < tasks:
                priority = priorities[submitted % len(priorities)] if priorities else None
                submitter = executor if priority is None else executor.prioritized(priority)
                submit_time = time.perf_counter()
                try:
                    future = submitter.submit(workload.task, submitted)
                except RejectedSubmission:
                    if not pending:
                        raise
                    _wait_oldest(pending)
                else:
                    tally.watch(future, submit_time, priority)
                    pending.append(future)
                    submitted += 1
            elif pending:
                _wait_oldest(pending)
            else:
                break
            now = time.perf_counter()
            if now - last_report >= _TICK:
                last_report = now
                progress(len(tally.latencies), len(tally.failures))
        if interrupt.requested:
            notice(
                f"interrupted: cancelling the tasks not started, waiting for those running "
                f"({submitted} of {tasks} submitted); Ctrl-C again to stop waiting"
            )
            executor.shutdown(wait=False, cancel_futures=True)
            while pending:
                _wait_oldest(pending)
        wall_time = time.perf_counter() - started
    finally:
        executor.shutdown(wait=True, cancel_futures=interrupt.requested)
    progress(len(tally.latencies), len(tally.failures))
    figures = executor.metrics
    return Outcome(
        kind=kind,
        work=workload.spec,
        tasks=tasks,
        submitted=submitted,
        statistics=figures.statistics,
        wall_time=wall_time,
        latencies=tuple(tally.latencies),
        interrupted=interrupt.requested,
        priority_latencies={key: tuple(values) for key, values in tally.by_priority.items()},
        queue_wait=figures.queue_wait.sum,
    )


def _wait_oldest(pending: collections.deque[concurrent.futures.Future[Any]]) -> None:
    """Drop finished futures from the front, then wait a tick for the oldest still pending."""
    while pending and pending[0].done():
        pending.popleft()
    if pending:
        waiters.wait_for_any([pending[0]], timeout=_TICK)
