"""The ``@periodic`` decorator, ``is_periodic`` and ``NeverAgain``: marking what runs on a schedule.

The decorator only annotates the function (with the same attribute names as the original
futurist, so code reading ``_periodic_spacing`` keeps working); a
:class:`~futurist.periodics.PeriodicWorker` reads the marks when the callable is added.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["NeverAgain", "is_periodic", "periodic", "validate_spacing"]

_F = TypeVar("_F", bound=Callable[..., Any])


class NeverAgain(Exception):
    """Raised by a periodic callback to end its own schedule; it is not counted as a failure."""


def validate_spacing(spacing: object, enabled: bool = True) -> float:
    """Return ``spacing`` as a float, or raise an error naming the value and what is allowed.

    A spacing must be a real number of seconds (not a bool); when enabled it must also be
    finite and greater than zero.
    """
    if isinstance(spacing, bool) or not isinstance(spacing, int | float):
        raise TypeError(
            f"spacing must be a number of seconds (int or float), "
            f"got {spacing!r} ({type(spacing).__name__})"
        )
    value = float(spacing)
    if enabled and not (value > 0 and math.isfinite(value)):
        raise ValueError(
            f"spacing must be a finite number of seconds greater than zero for an enabled "
            f"periodic callable, got {spacing!r}"
        )
    return value


def periodic(
    spacing: float, run_immediately: bool = False, enabled: bool = True
) -> Callable[[_F], _F]:
    """Mark a function or method to run every ``spacing`` seconds.

    ``run_immediately`` makes the first run happen when the worker starts (otherwise one spacing
    later); ``enabled=False`` keeps the mark but makes workers skip the callable.
    """
    value = validate_spacing(spacing, bool(enabled))

    def decorate(func: _F) -> _F:
        if not callable(func):
            raise TypeError(f"@periodic can only decorate a callable, got {func!r}")
        func._is_periodic = True  # type: ignore[attr-defined]
        func._periodic_spacing = value  # type: ignore[attr-defined]
        func._periodic_run_immediately = bool(run_immediately)  # type: ignore[attr-defined]
        func._periodic_enabled = bool(enabled)  # type: ignore[attr-defined]
        return func

    return decorate


def is_periodic(obj: object) -> bool:
    """Whether ``obj`` is a callable marked by :func:`periodic` (enabled or not)."""
    return callable(obj) and getattr(obj, "_is_periodic", False) is True
