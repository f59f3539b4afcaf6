"""How one callback is timed beyond its spacing: calendar schedule, jitter, misfires, back-off.

``@periodic`` checks these once and stores them as one :class:`Timing` mark; the worker reads
it when the callable is added (a config file may replace the schedule, see
:mod:`futurist.periodics.options`).
"""

from __future__ import annotations

import dataclasses

from futurist._seconds import optional_seconds, seconds
from futurist.periodics.schedules import Schedule

__all__ = ["COALESCE", "DEFAULT_TIMING", "Timing"]

COALESCE = ("latest", "earliest", "all")
"""What a callback does with several missed runs: run once (at the latest or the earliest
missed moment) or run every one of them, back to back."""


@dataclasses.dataclass(frozen=True, slots=True)
class Timing:
    """The timing options of one callback, checked.

    ``schedule`` is None for a spacing callback. ``jitter`` delays each run by up to that many
    seconds; ``misfire_grace`` skips a run that cannot start within that many seconds of its
    due time (None: run it late); ``coalesce`` is one of :data:`COALESCE`; ``backoff_max``
    turns on exponential back-off after failures, capped at that many seconds.
    """

    schedule: Schedule | None = None
    jitter: float = 0.0
    misfire_grace: float | None = None
    coalesce: str = "latest"
    backoff_max: float | None = None

    def __post_init__(self) -> None:
        if self.schedule is not None and not isinstance(self.schedule, Schedule):
            raise TypeError(
                f"schedule must be a periodics.Schedule (periodics.Cron, or a subclass of "
                f"periodics.Schedule with next_after), got {self.schedule!r}"
            )
        object.__setattr__(self, "jitter", seconds("jitter", self.jitter, zero=True))
        grace = optional_seconds("misfire_grace", self.misfire_grace, zero=True)
        object.__setattr__(self, "misfire_grace", grace)
        if self.coalesce not in COALESCE:
            raise ValueError(
                f"coalesce must be one of {', '.join(map(repr, COALESCE))}, got {self.coalesce!r}"
            )
        if self.coalesce != "latest" and self.schedule is None:
            raise ValueError(
                f"coalesce={self.coalesce!r} needs a calendar schedule (cron= or schedule=): "
                f"a spacing callback's next run is computed from its last one, so it never "
                f"has several missed runs"
            )
        object.__setattr__(self, "backoff_max", optional_seconds("backoff_max", self.backoff_max))

    @property
    def plain(self) -> bool:
        """A spacing callback with nothing else: the worker's fast path."""
        return (
            self.schedule is None
            and not self.jitter
            and self.misfire_grace is None
            and self.backoff_max is None
        )


DEFAULT_TIMING = Timing()
"""The timing of a callable marked only with a spacing (futurist 3.5's marks)."""
