"""The worker's record of one callable (``Entry``), of one failed run, and its hook types."""

from __future__ import annotations

import functools
import traceback
from collections.abc import Callable
from types import TracebackType
from typing import Any, Protocol

from futurist.periodics.tally import Tally
from futurist.periodics.timing import Timing
from futurist.periodics.work import PERIODIC, Watcher

__all__ = ["Condition", "Entry", "Event", "ExcInfo", "Failure", "OnFailure", "Submission"]

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


class OnFailure(Protocol):
    """``on_failure(callback, kind, spacing, exc_info, traceback=None)``."""

    def __call__(
        self,
        callback: Callable[..., Any],
        kind: str,
        spacing: float,
        exc_info: ExcInfo,
        traceback: str | None = None,
    ) -> object:
        """Report one failed run of ``callback`` (``kind`` is ``PERIODIC`` or ``IMMEDIATE``)."""


class Condition(Protocol):
    """What the worker needs of ``cond_cls()``."""

    def __enter__(self) -> object: ...
    def __exit__(self, *exc: object) -> object: ...
    def wait(self, timeout: float | None = None) -> bool: ...
    def notify_all(self) -> None: ...


class Event(Protocol):
    """What the worker needs of ``event_cls()``."""

    def set(self) -> None: ...
    def clear(self) -> None: ...
    def is_set(self) -> bool: ...
    def wait(self, timeout: float | None = None) -> bool: ...


class Failure:
    """How a run failed: the exception, its exception info and its formatted traceback.

    ``exiting`` is true for a ``BaseException`` that is not an ``Exception`` (``SystemExit``,
    ``KeyboardInterrupt``): the program wants out, so the worker stops.
    """

    __slots__ = ("exc", "exc_info", "exiting", "text")

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc
        self.exc_info: ExcInfo = (type(exc), exc, exc.__traceback__)
        self.exiting = not isinstance(exc, Exception)
        self.text = "".join(traceback.format_exception(exc))


class Entry:
    """One callable's schedule state; guarded by the worker's condition.

    ``plain`` entries (a spacing and nothing else) take the worker's fast path for their
    periodic runs (``fast``); ``checked`` ones (a calendar schedule or a misfire grace) are
    looked at again when they fall due. ``order`` (the order entries were added in) breaks
    ties between equal due times in the heap. ``tally`` is the watcher's counters.
    """

    __slots__ = (
        "active",
        "anchor",
        "call",
        "checked",
        "due_wall",
        "failures_in_row",
        "fast",
        "kind",
        "order",
        "period",
        "plain",
        "run_immediately",
        "scheduled",
        "spacing",
        "stopped",
        "tally",
        "timing",
        "watcher",
    )

    def __init__(
        self,
        watcher: Watcher,
        tally: Tally,
        *,
        spacing: float | None,
        run_immediately: bool,
        timing: Timing,
    ) -> None:
        self.watcher = watcher
        self.tally = tally
        self.order = 0
        """Its place among the worker's entries (set when it is added)."""
        work = watcher.work
        # Bound once here, so each run makes one call with nothing to look up; a callback
        # without arguments (the usual case) is called as it is, which CPython calls faster
        # than through a partial.
        self.call: Callable[[], Any] = (
            functools.partial(work.callback, *work.args, **work.kwargs)
            if work.args or work.kwargs
            else work.callback
        )
        self.spacing = spacing
        """Seconds between runs; None for a calendar schedule."""
        self.period = 0.0 if spacing is None else spacing
        """The spacing, or 0.0 for a calendar schedule (what ``on_failure`` is told)."""
        self.run_immediately = run_immediately
        self.timing = timing
        self.plain = timing.plain
        self.checked = timing.schedule is not None or timing.misfire_grace is not None
        self.kind = PERIODIC
        self.fast = self.plain
        """A plain entry whose next run is a periodic one (``kind`` is ``PERIODIC``)."""
        self.scheduled = 0.0
        """When its current (or last) run was due, on the worker's clock (``now_func``)."""
        self.anchor = 0.0
        """A calendar entry's current due moment (wall clock, before jitter)."""
        self.due_wall = 0.0
        """A calendar entry's current due moment (wall clock, jitter included)."""
        self.failures_in_row = 0
        self.active = False
        self.stopped = False


class Submission:
    """One run handed to the executor: its first entry, and whether it began."""

    __slots__ = ("entry", "started")

    def __init__(self, entry: Entry) -> None:
        self.entry = entry
        self.started = False
