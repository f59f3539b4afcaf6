"""What ``futurist top`` shows of each executor, from two scrapes of its endpoint.

Calls per second and the percentiles of queue wait and run time are those of the calls between
the scrapes (as ``rate`` and ``histogram_quantile`` would give); the gauges are the latest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from futurist.cli.scrapes import Buckets, Reading, Scrape

__all__ = ["TopRow", "quantile", "top_rows"]


@dataclass(frozen=True)
class TopRow:
    """One executor's line: its gauges now, and what happened since the previous scrape."""

    executor: str
    kind: str
    queued: float | None
    queue_capacity: float | None
    """The most calls that may queue (None: unbounded)."""
    active: float | None
    workers: float | None
    max_workers: float | None
    calls_per_second: float | None
    wait: tuple[float | None, float | None]
    """Queue wait p50 and p99, in seconds (None: no call started between the scrapes)."""
    duration: tuple[float | None, float | None]
    """Run time p50 and p99, in seconds (None: no call ended between the scrapes)."""
    failed: float | None
    """Calls that raised since the executor started."""


def top_rows(previous: Scrape, current: Scrape) -> list[TopRow]:
    """A row per executor of ``current``, the longest queue first."""
    elapsed = current.taken - previous.taken
    rows = []
    for key, now in current.readings.items():
        # An executor first seen now ran all its calls since the previous scrape.
        before = previous.readings.get(key) or Reading(now.executor, now.kind)
        rows.append(
            TopRow(
                now.executor,
                now.kind,
                now.values.get("queue_length"),
                now.values.get("queue_capacity"),
                now.values.get("call_active"),
                now.values.get("workers"),
                now.values.get("worker_max"),
                _rate(before, now, elapsed),
                _percentiles(before, now, "call_wait_time_seconds"),
                _percentiles(before, now, "call_duration_seconds"),
                now.values.get("call_failed"),
            )
        )
    return sorted(rows, key=lambda row: (-(row.queued or 0), row.executor, row.kind))


def quantile(q: float, buckets: Buckets) -> float | None:
    """The ``q`` quantile (0 to 1) of the values ``buckets`` counts, as Prometheus'
    ``histogram_quantile`` estimates it: linear within the bucket it falls in, the highest
    finite bound when it falls above it; None when there are no values."""
    total = buckets[-1][1] if buckets else 0.0
    if total <= 0:
        return None
    rank = q * total
    lower, below = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank and count > below:
            if math.isinf(bound):
                return lower
            return lower + (bound - lower) * (rank - below) / (count - below)
        lower, below = bound, count
    return lower


def _rate(before: Reading, now: Reading, elapsed: float) -> float | None:
    """Calls executed per second between the two readings; None when no time passed."""
    if elapsed <= 0 or "call_executed" not in now.values:
        return None
    return max(0.0, now.values["call_executed"] - before.values.get("call_executed", 0.0)) / elapsed


def _percentiles(before: Reading, now: Reading, name: str) -> tuple[float | None, float | None]:
    """p50 and p99 of the values histogram ``name`` gained between the readings."""
    earlier = dict(before.histograms.get(name, ()))
    buckets = tuple(
        (bound, count - earlier.get(bound, 0.0)) for bound, count in now.histograms.get(name, ())
    )
    return quantile(0.5, buckets), quantile(0.99, buckets)
