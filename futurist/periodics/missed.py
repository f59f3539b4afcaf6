"""Missed runs of a calendar schedule: which moments fell due, and which one runs.

Times here are wall-clock timestamps (seconds since the epoch). APScheduler's meanings: with
``coalesce="latest"`` or ``"earliest"`` several missed moments make one run (due at the latest
or the earliest of them) and the others count as coalesced; with ``"all"`` every one runs.
"""

from __future__ import annotations

from typing import NamedTuple

from futurist.periodics.schedules import Schedule

__all__ = ["MAX_MISSED", "Pick", "next_due", "pick"]

MAX_MISSED = 100_000
"""Most missed moments counted at once (a minutely job after a machine slept for two months)."""


def next_due(schedule: Schedule, after: float) -> float | None:
    """The schedule's first moment strictly after the timestamp ``after``; None if none."""
    return schedule._next_timestamp(after)


class Pick(NamedTuple):
    """The moment to run now, the last missed moment (the next one follows it), how many
    moments were folded into this run."""

    due: float
    last: float
    coalesced: int


def pick(schedule: Schedule, anchor: float, now: float, coalesce: str) -> Pick:
    """What to run for a schedule due at ``anchor`` (<= ``now``), given ``coalesce``."""
    if coalesce == "all":
        return Pick(anchor, anchor, 0)
    last, count = anchor, 0
    while count < MAX_MISSED:
        following = next_due(schedule, last)
        if following is None or following > now:
            break
        last, count = following, count + 1
    return Pick(anchor if coalesce == "earliest" else last, last, count)
