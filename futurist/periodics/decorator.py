"""The ``@periodic`` decorator, ``is_periodic`` and ``NeverAgain``: marking what runs on a schedule.

The decorator only annotates the function, with the attributes and values of the original
futurist (``_is_periodic`` is the ``enabled`` flag, ``_periodic_spacing``,
``_periodic_run_immediately``), so code reading or setting them keeps working; a
:class:`~futurist.periodics.PeriodicWorker` reads the marks when the callable is added.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import Any, TypeVar

from futurist._seconds import number_of_seconds, seconds

__all__ = ["NeverAgain", "is_enabled", "is_periodic", "periodic", "validate_spacing"]

_MARKS = ("_is_periodic", "_periodic_spacing", "_periodic_run_immediately")
"""The attributes that make a callable periodic (the original futurist's)."""

_F = TypeVar("_F", bound=Callable[..., Any])


class NeverAgain(Exception):
    """Raised by a periodic callback to end its own schedule; it is not counted as a failure."""


def validate_spacing(spacing: object, enabled: bool = True) -> float:
    """Return ``spacing`` as a float, or raise an error naming the value and what is allowed.

    A spacing must be a real number of seconds (int, float, Fraction; not a bool); when
    enabled it must also be finite and greater than zero.
    """
    return seconds("spacing", spacing) if enabled else number_of_seconds("spacing", spacing)


def periodic(
    spacing: float | Fraction, run_immediately: bool = False, enabled: bool = True
) -> Callable[[_F], _F]:
    """Mark a function or method to run every ``spacing`` seconds.

    ``run_immediately`` makes the first run happen when the worker starts (otherwise one spacing
    later); ``enabled=False`` keeps the mark but makes workers skip the callable.
    """
    value = validate_spacing(spacing, bool(enabled))

    def decorate(func: _F) -> _F:
        if not callable(func):
            raise TypeError(f"@periodic can only decorate a callable, got {func!r}")
        func._is_periodic = bool(enabled)  # type: ignore[attr-defined]
        func._periodic_spacing = value  # type: ignore[attr-defined]
        func._periodic_run_immediately = bool(run_immediately)  # type: ignore[attr-defined]
        func._periodic_enabled = bool(enabled)  # type: ignore[attr-defined]
        return func

    return decorate


def is_periodic(obj: object) -> bool:
    """Whether ``obj`` is a callable marked by :func:`periodic` (enabled or not)."""
    return callable(obj) and all(hasattr(obj, mark) for mark in _MARKS)


def is_enabled(obj: object) -> bool:
    """Whether a periodic callable is enabled: its ``_is_periodic`` mark is true."""
    return bool(getattr(obj, "_is_periodic", False)) and bool(
        getattr(obj, "_periodic_enabled", True)
    )
