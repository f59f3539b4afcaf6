"""What a worker runs (``Work``) and what it learned about each run (``Watcher``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

__all__ = ["IMMEDIATE", "PERIODIC", "Watcher", "Work"]

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


_NO_RUNS = (0, 0, 0, 0.0, 0.0, False)


class Watcher:
    """A read-only view of one callable's work and run statistics.

    ``runs`` counts every attempt (``successes + failures``); a run the executor refused or
    lost counts as a failure. ``elapsed_waiting`` is the time between when runs were due and
    when they started (scheduling and executor queueing together).
    """

    __slots__ = ("_metrics", "_work")

    def __init__(self, work: Work) -> None:
        self._work = work
        # (runs, successes, failures, elapsed, elapsed_waiting, requested_stop), replaced as
        # a whole so every read sees one consistent snapshot.
        self._metrics: tuple[int, int, int, float, float, bool] = _NO_RUNS

    def _record(self, elapsed: float, waiting: float, failed: bool, never_again: bool) -> None:
        """Count one more run (the worker calls this under its lock)."""
        runs, successes, failures, total, waited, stop = self._metrics
        self._metrics = (
            runs + 1,
            successes + (not failed),
            failures + failed,
            total + elapsed,
            waited + waiting,
            stop or never_again,
        )

    def _reset(self) -> None:
        """Forget every run (``PeriodicWorker.reset``)."""
        self._metrics = _NO_RUNS

    @property
    def work(self) -> Work:
        """The callback and arguments this watcher reports on."""
        return self._work

    @property
    def runs(self) -> int:
        """How many times the callback ran (or was attempted)."""
        return self._metrics[0]

    @property
    def successes(self) -> int:
        """How many runs returned (a ``NeverAgain`` counts as a success)."""
        return self._metrics[1]

    @property
    def failures(self) -> int:
        """How many runs raised, or were refused or lost by the executor."""
        return self._metrics[2]

    @property
    def elapsed(self) -> float:
        """Total seconds spent running."""
        return self._metrics[3]

    @property
    def elapsed_waiting(self) -> float:
        """Total seconds runs spent waiting to start after they were due."""
        return self._metrics[4]

    @property
    def average_elapsed(self) -> float:
        """Mean seconds per run; ``ZeroDivisionError`` before the first run (compatibility)."""
        runs, _, _, elapsed, _, _ = self._metrics
        return elapsed / runs

    @property
    def average_elapsed_waiting(self) -> float:
        """Mean seconds each run waited after it was due; ``ZeroDivisionError`` before any run."""
        runs, _, _, _, waiting, _ = self._metrics
        return waiting / runs

    @property
    def requested_stop(self) -> bool:
        """Whether the callback raised ``NeverAgain`` and will not run again."""
        return self._metrics[5]

    def __repr__(self) -> str:
        runs, successes, failures, elapsed, waiting, stop = self._metrics
        return (
            f"<Watcher {self._work.name!r} runs={runs} successes={successes} "
            f"failures={failures} elapsed={elapsed:.6f} elapsed_waiting={waiting:.6f} "
            f"requested_stop={stop}>"
        )
