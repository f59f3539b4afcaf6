"""oslo.config value types whose bounds say exactly what the executors' constructors accept.

oslo.config's own ``min`` and ``max`` are inclusive; a constructor that wants seconds greater
than zero, or a share in ``(0, 1]``, needs an open bound, or a config file could hold a value
the constructor then refuses. Kinds import this only from ``config_options()``, so oslo.config
stays out of ``import futurist``.
"""

from __future__ import annotations

import math
from typing import Any

from oslo_config import types

__all__ = ["Interval", "positive_seconds"]


class Interval(types.Float):
    """A finite float between ``low`` and ``high``, each bound open or closed as asked."""

    def __init__(
        self,
        low: float,
        high: float = math.inf,
        *,
        low_open: bool = True,
        high_open: bool = True,
    ) -> None:
        opening = "(" if low_open else "["
        closing = ")" if high_open else "]"
        self.interval = f"{opening}{low:g}, {high:g}{closing}"
        super().__init__(type_name=f"floating point value in {self.interval}")
        self.low, self.high = low, high
        self.low_open, self.high_open = low_open, high_open

    def __call__(self, value: Any) -> float:
        converted = super().__call__(value)
        if converted is None:
            raise ValueError(f"should be a number in {self.interval}, got {value!r}")
        number = float(converted)
        above = number > self.low if self.low_open else number >= self.low
        below = number < self.high if self.high_open else number <= self.high
        if not (math.isfinite(number) and above and below):
            raise ValueError(f"should be a finite number in {self.interval}, got {value!r}")
        return number

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Interval) and (
            self.low,
            self.high,
            self.low_open,
            self.high_open,
        ) == (other.low, other.high, other.low_open, other.high_open)

    __hash__ = None  # type: ignore[assignment]


def positive_seconds() -> Interval:
    """Seconds greater than zero and finite, as timeouts and idle times need."""
    return Interval(0.0)
