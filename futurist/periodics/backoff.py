"""Exponential back-off after failures: how long a failing callback waits before its retry."""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["BACKOFF_START", "backoff_delay"]

BACKOFF_START = 1.0
"""Seconds before the first retry (or ``backoff_max``, if that is shorter); doubled each time."""


def backoff_delay(failures_in_row: int, backoff_max: float, rand: Callable[[], float]) -> float:
    """Seconds to wait after the ``failures_in_row``-th failure in a row.

    The delay doubles from :data:`BACKOFF_START` up to ``backoff_max``, then a random half of
    it is taken off (``rand()`` in [0, 1)), so that services failing together retry apart.
    """
    ceiling = min(backoff_max, BACKOFF_START * 2.0 ** min(failures_in_row - 1, 64))
    return ceiling * (1.0 - rand() / 2)
