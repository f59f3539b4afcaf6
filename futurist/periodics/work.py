"""What a worker runs (``Work``) and what it learned about each run (``Watcher``)."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from futurist.periodics.schedules import Schedule
from futurist.periodics.tally import Figures, Tally

__all__ = ["IMMEDIATE", "PERIODIC", "Watcher", "Work", "describe_schedule"]

PERIODIC = "periodic"
"""Kind of a run that happened because its spacing elapsed."""

IMMEDIATE = "immediate"
"""Kind of the first run of a ``run_immediately`` callable, at start or when added."""


class Work(NamedTuple):
    """A named callback and its arguments; calling it runs the callback once."""

    name: str
    callback: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: Mapping[str, Any]

    def __call__(self) -> Any:
        """Run the callback with its arguments and return what it returns."""
        return self.callback(*self.args, **self.kwargs)


def describe_schedule(schedule: Schedule | float) -> str:
    """How the log and tables say when a callable runs: ``every 60 s``, ``cron 0 3 * * * UTC``."""
    if isinstance(schedule, Schedule):
        return str(schedule)
    return f"every {schedule:g} s"


def _not_scheduled() -> datetime.datetime | None:
    return None


class Watcher:
    """A read-only view of one callable's work and run statistics.

    ``runs`` counts every attempt (``successes + failures``); a run the executor refused or
    lost counts as a failure. ``elapsed_waiting`` is the time between when runs were due and
    when they started (scheduling and executor queueing together). ``skipped`` counts runs
    dropped by the misfire grace, ``coalesced`` missed runs folded into another run.
    """

    __slots__ = ("_next_run", "_schedule", "_tally", "_work")

    def __init__(
        self,
        work: Work,
        schedule: Schedule | float = 0.0,
        next_run: Callable[[], datetime.datetime | None] = _not_scheduled,
        *,
        tally: Tally | None = None,
    ) -> None:
        self._work = work
        self._schedule = schedule
        self._next_run = next_run
        self._tally = Tally() if tally is None else tally
        """The counters its worker keeps (see :mod:`futurist.periodics.tally`)."""

    def figures(self) -> Figures:
        """Every statistic at one moment (``runs`` is always ``successes + failures``)."""
        return self._tally.figures()

    @property
    def schedule(self) -> Schedule | float:
        """When the callback runs: its calendar schedule, or its spacing in seconds."""
        return self._schedule

    @property
    def next_run(self) -> datetime.datetime | None:
        """When it runs next (aware, local time); None while running, stopped or not started."""
        return self._next_run()

    @property
    def skipped(self) -> int:
        """How many runs were skipped because they could not start within the misfire grace."""
        return self._tally.figures().skipped

    @property
    def coalesced(self) -> int:
        """How many missed runs were folded into another run (``coalesce`` latest or earliest)."""
        return self._tally.figures().coalesced

    @property
    def work(self) -> Work:
        """The callback and arguments this watcher reports on."""
        return self._work

    @property
    def runs(self) -> int:
        """How many times the callback ran (or was attempted)."""
        return self._tally.figures().runs

    @property
    def successes(self) -> int:
        """How many runs returned (a ``NeverAgain`` counts as a success)."""
        return self._tally.figures().successes

    @property
    def failures(self) -> int:
        """How many runs raised, or were refused or lost by the executor."""
        return self._tally.figures().failures

    @property
    def elapsed(self) -> float:
        """Total seconds spent running."""
        return self._tally.figures().elapsed

    @property
    def elapsed_waiting(self) -> float:
        """Total seconds runs spent waiting to start after they were due."""
        return self._tally.figures().elapsed_waiting

    @property
    def average_elapsed(self) -> float:
        """Mean seconds per run; ``ZeroDivisionError`` before the first run (compatibility)."""
        figures = self._tally.figures()
        return figures.elapsed / figures.runs

    @property
    def average_elapsed_waiting(self) -> float:
        """Mean seconds each run waited after it was due; ``ZeroDivisionError`` before any run."""
        figures = self._tally.figures()
        return figures.elapsed_waiting / figures.runs

    @property
    def requested_stop(self) -> bool:
        """Whether the callback raised ``NeverAgain`` and will not run again."""
        return self._tally.figures().requested_stop

    def __repr__(self) -> str:
        runs, successes, failures, elapsed, waiting, stop, _, _ = self._tally.figures()
        return (
            f"<Watcher {self._work.name!r} runs={runs} successes={successes} "
            f"failures={failures} elapsed={elapsed:.6f} elapsed_waiting={waiting:.6f} "
            f"requested_stop={stop}>"
        )
