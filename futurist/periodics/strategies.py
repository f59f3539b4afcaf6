"""Schedule strategies: when a callback runs next, given when its last run started and finished.

A strategy is a plain function ``(spacing, started_at, finished_at) -> next_run`` on the worker's
clock (``now_func``). The three built-in ones and their ``_jitter`` variants are chosen by name::

    last_started           started_at + spacing              (fixed rate)
    last_finished          finished_at + spacing             (fixed delay)
    aligned_last_finished  the first multiple of spacing after finished_at
    <name>_jitter          the same, plus a random 0-5 % of the spacing

A run that is already due when computed (a fixed-rate callback slower than its spacing) starts
as soon as the previous one finished; runs never overlap and missed runs are not replayed.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

__all__ = [
    "DEFAULT_JITTER",
    "STRATEGIES",
    "Strategy",
    "aligned_last_finished",
    "last_finished",
    "last_started",
    "resolve_strategy",
    "with_jitter",
]

Strategy = Callable[[float, float, float], float]
"""``(spacing, started_at, finished_at) -> next_run``."""

DEFAULT_JITTER = 0.05
"""Largest fraction of the spacing the ``_jitter`` strategies add (5 %)."""


def last_started(spacing: float, started_at: float, finished_at: float) -> float:
    """Next run one spacing after the last run started (fixed rate)."""
    return started_at + spacing


def last_finished(spacing: float, started_at: float, finished_at: float) -> float:
    """Next run one spacing after the last run finished (fixed delay)."""
    return finished_at + spacing


def aligned_last_finished(spacing: float, started_at: float, finished_at: float) -> float:
    """Next run at the first whole multiple of the spacing after the last run finished."""
    return (math.floor(finished_at / spacing) + 1) * spacing


def with_jitter(
    strategy: Strategy,
    max_fraction: float = DEFAULT_JITTER,
    *,
    rand: Callable[[], float] = random.random,
) -> Strategy:
    """Wrap ``strategy`` to add ``rand() * max_fraction * spacing`` to every next run.

    Jitter spreads callbacks of many processes that started together. ``rand`` returns a
    number in [0, 1) (tests pass a fixed one).
    """
    if isinstance(max_fraction, bool) or not isinstance(max_fraction, int | float):
        raise TypeError(f"max_fraction must be a number, got {max_fraction!r}")
    if not 0 <= max_fraction <= 1:
        raise ValueError(f"max_fraction must be between 0 and 1, got {max_fraction!r}")

    def jittered(spacing: float, started_at: float, finished_at: float) -> float:
        return strategy(spacing, started_at, finished_at) + rand() * max_fraction * spacing

    jittered.__name__ = f"{strategy.__name__}_jitter"
    jittered.__doc__ = f"{strategy.__name__}, plus up to {max_fraction:.0%} of the spacing."
    return jittered


STRATEGIES: dict[str, Strategy] = {
    "last_started": last_started,
    "last_finished": last_finished,
    "aligned_last_finished": aligned_last_finished,
    "last_started_jitter": with_jitter(last_started),
    "last_finished_jitter": with_jitter(last_finished),
    "aligned_last_finished_jitter": with_jitter(aligned_last_finished),
}
"""The strategies :class:`~futurist.periodics.PeriodicWorker` accepts by name."""


def resolve_strategy(strategy: object) -> Strategy:
    """Return the strategy named ``strategy`` (or ``strategy`` itself when it is a function)."""
    if isinstance(strategy, str):
        try:
            return STRATEGIES[strategy]
        except KeyError:
            valid = ", ".join(sorted(STRATEGIES))
            raise ValueError(
                f"schedule_strategy {strategy!r} is not known; valid strategies: {valid}"
            ) from None
    if callable(strategy):
        return strategy
    # ValueError, as in the original futurist (which looked every value up by name).
    raise ValueError(
        f"schedule_strategy must be a strategy name or a function "
        f"(spacing, started_at, finished_at) -> next_run, got {strategy!r}"
    )
