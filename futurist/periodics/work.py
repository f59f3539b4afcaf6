"""What a worker runs (``Work``) and what it learned about each run (``Watcher``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

__all__ = ["IMMEDIATE", "PERIODIC", "Metrics", "Watcher", "Work", "callable_name"]

PERIODIC = "periodic"
"""Kind of a run that happened because its spacing elapsed."""

IMMEDIATE = "immediate"
"""Kind of the first run of a ``run_immediately`` callable, at start or when added."""


def callable_name(func: Callable[..., Any]) -> str:
    """A readable dotted name: ``module.Class.method`` for methods, ``module.func`` otherwise."""
    qualname = getattr(func, "__qualname__", None) or getattr(func, "__name__", None)
    if qualname is None:
        return repr(func)
    module = getattr(func, "__module__", None)
    return f"{module}.{qualname}" if module else str(qualname)


class Work(NamedTuple):
    """A named callback and its arguments; calling it runs the callback once."""

    name: str
    callback: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: Mapping[str, Any]

    def __call__(self) -> Any:
        """Run the callback with its arguments and return what it returns."""
        return self.callback(*self.args, **self.kwargs)


class Metrics(NamedTuple):
    """An immutable snapshot of one callable's runs; the worker replaces it after each run."""

    runs: int = 0
    successes: int = 0
    failures: int = 0
    elapsed: float = 0.0
    elapsed_waiting: float = 0.0
    requested_stop: bool = False

    def after_run(
        self, elapsed: float, waiting: float, failed: bool, never_again: bool = False
    ) -> Metrics:
        """The snapshot after one more run that took ``elapsed`` and waited ``waiting``."""
        return Metrics(
            self.runs + 1,
            self.successes + (not failed),
            self.failures + failed,
            self.elapsed + elapsed,
            self.elapsed_waiting + waiting,
            self.requested_stop or never_again,
        )


class Watcher:
    """A read-only view of one callable's work and run statistics.

    ``runs`` counts every attempt (``successes + failures``); a run the executor refused or
    lost counts as a failure. ``elapsed_waiting`` is the time between when runs were due and
    when they started (scheduling and executor queueing together).
    """

    __slots__ = ("_metrics", "_work")

    def __init__(self, work: Work) -> None:
        self._work = work
        self._metrics = Metrics()

    @property
    def work(self) -> Work:
        """The callback and arguments this watcher reports on."""
        return self._work

    @property
    def runs(self) -> int:
        """How many times the callback ran (or was attempted)."""
        return self._metrics.runs

    @property
    def successes(self) -> int:
        """How many runs returned (a ``NeverAgain`` counts as a success)."""
        return self._metrics.successes

    @property
    def failures(self) -> int:
        """How many runs raised, or were refused or lost by the executor."""
        return self._metrics.failures

    @property
    def elapsed(self) -> float:
        """Total seconds spent running."""
        return self._metrics.elapsed

    @property
    def elapsed_waiting(self) -> float:
        """Total seconds runs spent waiting to start after they were due."""
        return self._metrics.elapsed_waiting

    @property
    def average_elapsed(self) -> float:
        """Mean seconds per run (0.0 before the first run)."""
        metrics = self._metrics
        return metrics.elapsed / metrics.runs if metrics.runs else 0.0

    @property
    def average_elapsed_waiting(self) -> float:
        """Mean seconds each run waited after it was due (0.0 before the first run)."""
        metrics = self._metrics
        return metrics.elapsed_waiting / metrics.runs if metrics.runs else 0.0

    @property
    def requested_stop(self) -> bool:
        """Whether the callback raised ``NeverAgain`` and will not run again."""
        return self._metrics.requested_stop

    def __repr__(self) -> str:
        metrics = self._metrics
        return (
            f"<Watcher {self._work.name!r} runs={metrics.runs} successes={metrics.successes} "
            f"failures={metrics.failures} elapsed={metrics.elapsed:.6f} "
            f"elapsed_waiting={metrics.elapsed_waiting:.6f} "
            f"requested_stop={metrics.requested_stop}>"
        )
