"""Checking a duration given in seconds, with one wording for every error.

Timeouts, delays, idle times and spacings all take a real number of seconds (int, float,
Fraction; not a bool), and each says whether zero and infinity are allowed. A value of the
wrong type is a ``TypeError``, one out of range a ``ValueError`` (as the standard library and
futurist 3.5 raise); both messages name the argument, what is allowed and the value given.
"""

from __future__ import annotations

import math
import numbers

__all__ = ["allowed_seconds", "number_of_seconds", "optional_seconds", "seconds"]


def allowed_seconds(*, zero: bool = False, infinite: bool = False) -> str:
    """What a duration may be, in words: ``a finite number of seconds > 0`` and the like."""
    finite = "" if infinite else "finite "
    return f"a {finite}number of seconds {'>=' if zero else '>'} 0"


def number_of_seconds(name: str, value: object, *, none: bool = False) -> float:
    """``value`` as a float if it is a real number (not a bool), else a ``TypeError``.

    ``none`` only adds "or None" to the message, for a caller that has let None through.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        allowed = "int, float or another real number" + (", or None" if none else "")
        raise TypeError(
            f"{name} must be a number of seconds ({allowed}), got {type(value).__name__} {value!r}"
        )
    return float(value)


def seconds(name: str, value: object, *, zero: bool = False, infinite: bool = False) -> float:
    """``value`` as seconds, or an error naming ``name``; ``zero`` and ``infinite`` allow those.

    NaN and negative numbers are always refused.
    """
    return _in_range(name, value, zero, infinite, none=False)


def optional_seconds(
    name: str, value: object, *, zero: bool = False, infinite: bool = False
) -> float | None:
    """Like :func:`seconds`, with None allowed (meaning no limit) and said to be."""
    if value is None:
        return None
    return _in_range(name, value, zero, infinite, none=True)


def _in_range(name: str, value: object, zero: bool, infinite: bool, *, none: bool) -> float:
    number = number_of_seconds(name, value, none=none)
    if not (number > 0 or (zero and number == 0)) or not (infinite or math.isfinite(number)):
        allowed = allowed_seconds(zero=zero, infinite=infinite)
        raise ValueError(
            f"{name} must be {allowed}{' or None (no limit)' if none else ''}, got {value!r}"
        )
    return number
