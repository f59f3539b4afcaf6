"""The figures an executor records and publishes: histogram buckets, histograms, live metrics.

The bucket boundaries are the same for every executor and every backend, so figures from
different executors and processes can be added up bucket by bucket. These types live below the
executors, which record them, and below :mod:`futurist.metrics`, whose backends publish them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import futurist.statistics

__all__ = ["BUCKETS", "ExecutorMetrics", "Histogram"]

BUCKETS: tuple[float, ...] = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    120.0,
    300.0,
)
"""Upper bounds, in seconds, of the histogram buckets (a value equal to a bound is in its
bucket); one more bucket holds what is above the last bound."""


@dataclass(frozen=True, slots=True)
class Histogram:
    """A distribution of durations, in seconds, taken at one moment.

    ``counts[i]`` is how many values fell in bucket ``i``: at most ``BUCKETS[i]`` and above the
    bound before it; the last count is for values above ``BUCKETS[-1]``. ``sum`` is the total of
    every value and ``count`` how many there were.
    """

    counts: tuple[int, ...] = (0,) * (len(BUCKETS) + 1)
    sum: float = 0.0

    @property
    def bounds(self) -> tuple[float, ...]:
        """The buckets' upper bounds (``futurist.metrics.BUCKETS``)."""
        return BUCKETS

    @property
    def count(self) -> int:
        """How many values were recorded."""
        return sum(self.counts)


@dataclass(frozen=True, slots=True)
class ExecutorMetrics:
    """An executor's figures at one moment: its statistics and the live figures beside them.

    ``queued`` calls wait for a worker (the backlog ``check_and_reject`` sees); ``running``
    calls run now; ``workers`` is how many workers the executor has and ``max_workers`` its
    limit (None for kinds without one); ``rejected`` counts submissions ``check_and_reject``
    refused. ``run_time`` and ``queue_wait`` are the distributions of the calls' run times and
    of how long each waited between acceptance and start; ``queue_wait.sum`` is the total wait.
    ``queue_capacity`` is the most calls that may wait (the ``max_backlog`` of its
    ``check_and_reject``; None where the backlog is unbounded) and ``core_workers`` the workers
    the executor keeps while idle (``min_workers``; None for kinds without one).
    """

    name: str
    kind: str
    statistics: futurist.statistics.ExecutorStatistics
    queued: int
    running: int
    workers: int
    max_workers: int | None
    rejected: int
    run_time: Histogram
    queue_wait: Histogram
    queue_capacity: int | None = None
    core_workers: int | None = None
