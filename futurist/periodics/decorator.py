"""``@periodic``, ``is_periodic``, ``NeverAgain`` and ``RunAgainIn``: marking what runs when.

The decorator only annotates the function, with the attributes and values of the original
futurist (``_is_periodic`` is the ``enabled`` flag, ``_periodic_spacing``,
``_periodic_run_immediately``), so code reading or setting them keeps working, plus one
``_periodic_timing`` mark for what futurist 3.5 did not have (a calendar schedule, jitter,
misfires, back-off); a :class:`~futurist.periodics.PeriodicWorker` reads the marks when the
callable is added.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from fractions import Fraction
from typing import Any, TypeVar

from futurist._seconds import number_of_seconds, seconds
from futurist.periodics.schedules import Cron, Schedule
from futurist.periodics.timing import DEFAULT_TIMING, Timing

__all__ = [
    "NeverAgain",
    "RunAgainIn",
    "is_enabled",
    "is_periodic",
    "periodic",
    "timing_of",
    "validate_spacing",
]

_MARKS = ("_is_periodic", "_periodic_spacing", "_periodic_run_immediately")
"""The attributes that make a callable periodic (the original futurist's)."""

_F = TypeVar("_F", bound=Callable[..., Any])


class NeverAgain(Exception):
    """Raised by a periodic callback to end its own schedule; it is not counted as a failure."""


class RunAgainIn:
    """Returned by a periodic callback to choose its next run: ``seconds`` after this one ends.

    The choice holds for that one run (oslo.service's dynamic looping call); the callback's
    schedule takes over again after it, unless it returns another ``RunAgainIn``.
    """

    __slots__ = ("seconds",)

    def __init__(self, seconds_: float) -> None:
        self.seconds = seconds("RunAgainIn seconds", seconds_, zero=True)

    def __repr__(self) -> str:
        return f"RunAgainIn({self.seconds!r})"


def validate_spacing(spacing: object, enabled: bool = True) -> float:
    """Return ``spacing`` as a float, or raise an error naming the value and what is allowed.

    A spacing must be a real number of seconds (int, float, Fraction; not a bool); when
    enabled it must also be finite and greater than zero.
    """
    return seconds("spacing", spacing) if enabled else number_of_seconds("spacing", spacing)


def periodic(
    spacing: float | Fraction | None = None,
    run_immediately: bool = False,
    enabled: bool = True,
    *,
    cron: str | None = None,
    timezone: str | datetime.tzinfo | None = None,
    schedule: Schedule | None = None,
    jitter: float = 0.0,
    misfire_grace: float | None = None,
    coalesce: str = "latest",
    backoff_max: float | None = None,
) -> Callable[[_F], _F]:
    """Mark a function or method to run every ``spacing`` seconds, or on a calendar schedule.

    Exactly one of ``spacing``, ``cron`` (with its ``timezone``) and ``schedule`` says when.
    ``run_immediately`` makes the first run happen when the worker starts; ``enabled=False``
    keeps the mark but makes workers skip the callable. ``jitter``, ``misfire_grace``,
    ``coalesce`` and ``backoff_max`` are described in :class:`~futurist.periodics.timing.Timing`.
    """
    whens = (("spacing", spacing), ("cron", cron), ("schedule", schedule))
    given = [name for name, value in whens if value is not None]
    if len(given) > 1:
        raise TypeError(
            f"@periodic needs exactly one of spacing, cron and schedule, got {' and '.join(given)}"
        )
    if timezone is not None and cron is None:
        raise TypeError("@periodic got timezone without cron; timezone is cron's zone")
    if cron is not None:
        schedule = Cron(cron, timezone)
    value: float | None = None
    if schedule is None:
        value = validate_spacing(spacing, bool(enabled))
    timing = Timing(schedule, jitter, misfire_grace, coalesce, backoff_max)

    def decorate(func: _F) -> _F:
        if not callable(func):
            raise TypeError(f"@periodic can only decorate a callable, got {func!r}")
        func._is_periodic = bool(enabled)  # type: ignore[attr-defined]
        func._periodic_spacing = value  # type: ignore[attr-defined]
        func._periodic_run_immediately = bool(run_immediately)  # type: ignore[attr-defined]
        func._periodic_enabled = bool(enabled)  # type: ignore[attr-defined]
        func._periodic_timing = timing  # type: ignore[attr-defined]
        return func

    return decorate


def timing_of(obj: object) -> Timing:
    """The timing a periodic callable was marked with (a spacing alone, for 3.5's marks)."""
    timing = getattr(obj, "_periodic_timing", DEFAULT_TIMING)
    return timing if isinstance(timing, Timing) else DEFAULT_TIMING


def is_periodic(obj: object) -> bool:
    """Whether ``obj`` is a callable marked by :func:`periodic` (enabled or not)."""
    return callable(obj) and all(hasattr(obj, mark) for mark in _MARKS)


def is_enabled(obj: object) -> bool:
    """Whether a periodic callable is enabled: its ``_is_periodic`` mark is true."""
    return bool(getattr(obj, "_is_periodic", False)) and bool(
        getattr(obj, "_periodic_enabled", True)
    )
