"""PeriodicWorker: runs periodic callables on an executor, each on its own schedule.

Data flow::

    start() / add() --push--> [heap of (next_run, seq, entry)] <--push-- _complete (done callback)
                                          |                                 ^   metrics, on_failure,
    start() loop: wait on the condition   |  pop every due entry           |   strategy -> next_run
    until heap[0] is due (timeout =       v                                 |
    next_run - now; none when empty)   executor.submit(_call, work) --future--+

One condition (``cond_cls``) guards all state and wakes the loop when something changes (an
add, a finished run, stop); nothing polls. Callbacks, ``submit`` and ``on_failure`` run without
the condition held. Each entry is in exactly one place: in the heap, in flight, or stopped, so a
callback never overlaps itself and a slow one only occupies its own executor worker.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import functools
import heapq
import inspect
import itertools
import logging
import math
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, Protocol

from futurist.periodics.decorator import NeverAgain, is_periodic, validate_spacing
from futurist.periodics.factories import SynchronousExecutorFactory
from futurist.periodics.strategies import last_finished, resolve_strategy
from futurist.periodics.table import render_table
from futurist.periodics.work import IMMEDIATE, PERIODIC, Metrics, Watcher, Work, callable_name

__all__ = ["COLUMNS", "ExcInfo", "OnFailure", "PeriodicWorker"]

LOG = logging.getLogger(__name__)

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]

COLUMNS = (
    "Name",
    "Active",
    "Periodicity",
    "Runs in",
    "Runs",
    "Failures",
    "Successes",
    "Stop Requested",
    "Average elapsed",
    "Average elapsed waiting",
)
"""The columns :meth:`PeriodicWorker.pformat` can show (all of them by default)."""

_RIGHT_ALIGNED = frozenset(COLUMNS[2:6] + COLUMNS[6:7] + COLUMNS[8:])


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


class _Condition(Protocol):
    def __enter__(self) -> object: ...
    def __exit__(self, *exc: object) -> object: ...
    def wait(self, timeout: float | None = None) -> bool: ...
    def notify_all(self) -> None: ...


class _Event(Protocol):
    def set(self) -> None: ...
    def clear(self) -> None: ...
    def is_set(self) -> bool: ...
    def wait(self, timeout: float | None = None) -> bool: ...


@dataclasses.dataclass(frozen=True, slots=True)
class _Outcome:
    """What one run did: when it started and how it failed, if it did."""

    started: float
    failure: ExcInfo | None = None
    traceback: str | None = None
    never_again: bool = False


def _failure_of(exc: BaseException) -> tuple[ExcInfo, str]:
    return (type(exc), exc, exc.__traceback__), "".join(traceback.format_exception(exc))


class _Entry:
    """One callable's schedule state; guarded by the worker's condition."""

    __slots__ = ("active", "kind", "next_run", "run_immediately", "spacing", "stopped", "watcher")

    def __init__(self, watcher: Watcher, spacing: float, run_immediately: bool) -> None:
        self.watcher = watcher
        self.spacing = spacing
        self.run_immediately = run_immediately
        self.kind = PERIODIC
        self.next_run: float | None = None
        self.active = False
        self.stopped = False


class PeriodicWorker:
    """Runs ``@periodic`` callables on an executor, each every ``spacing`` seconds.

    ``callables`` are ``(callback, args, kwargs)`` triples. ``start()`` blocks, running the
    schedule until ``stop()``; run it in a thread (or green thread). Callbacks run on the
    executor ``executor_factory()`` returns (default: a synchronous executor, so one at a time
    in the thread running ``start``). ``schedule_strategy`` names how the next run is computed
    (see :mod:`futurist.periodics.strategies`). A failing callback keeps its schedule; each
    failure goes to ``on_failure`` (or the log). ``cond_cls``, ``event_cls`` and ``now_func``
    are how the worker waits and tells the time: eventlet's green ones make it run under eventlet.
    """

    def __init__(  # noqa: PLR0917 (positional order kept from the original futurist)
        self,
        callables: Iterable[
            tuple[Callable[..., Any], Sequence[Any] | None, Mapping[str, Any] | None]
        ],
        log: logging.Logger | logging.LoggerAdapter[Any] | None = None,
        executor_factory: Callable[[], concurrent.futures.Executor] | None = None,
        cond_cls: Callable[[], Any] = threading.Condition,
        event_cls: Callable[[], Any] = threading.Event,
        schedule_strategy: str | Callable[[float, float, float], float] = "last_started",
        now_func: Callable[[], float] = time.monotonic,
        on_failure: OnFailure | None = None,
    ) -> None:
        optional: tuple[tuple[str, object], ...] = (
            ("executor_factory", executor_factory),
            ("on_failure", on_failure),
        )
        for name, value in optional:
            if value is not None and not callable(value):
                raise TypeError(f"{name} must be callable or None, got {value!r}")
        required: tuple[tuple[str, object], ...] = (
            ("cond_cls", cond_cls),
            ("event_cls", event_cls),
            ("now_func", now_func),
        )
        for name, value in required:
            if not callable(value):
                raise TypeError(f"{name} must be callable, got {value!r}")
        self._log = log if log is not None else LOG
        self._executor_factory = (
            executor_factory if executor_factory is not None else SynchronousExecutorFactory()
        )
        self._strategy = resolve_strategy(schedule_strategy)
        self._now = now_func
        self._on_failure = on_failure
        self._cond: _Condition = cond_cls()
        self._dead: _Event = event_cls()
        self._dead.set()
        self._entries: list[_Entry] = []
        self._heap: list[tuple[float, int, _Entry]] = []
        self._seq = itertools.count()
        self._running = False
        self._accepting = False
        self._stopping = False
        self._in_flight = 0
        for item in callables:
            try:
                callback, args, kwargs = item
            except (TypeError, ValueError):
                raise TypeError(
                    f"callables must hold (callback, args, kwargs) triples, got {item!r}"
                ) from None
            self._add(callback, args, kwargs)

    @classmethod
    def create(  # noqa: PLR0917 (positional order kept from the original futurist)
        cls,
        objects: Iterable[object],
        exclude_hidden: bool = True,
        log: logging.Logger | logging.LoggerAdapter[Any] | None = None,
        executor_factory: Callable[[], concurrent.futures.Executor] | None = None,
        cond_cls: Callable[[], Any] = threading.Condition,
        event_cls: Callable[[], Any] = threading.Event,
        schedule_strategy: str | Callable[[float, float, float], float] = "last_started",
        now_func: Callable[[], float] = time.monotonic,
        on_failure: OnFailure | None = None,
        args: Sequence[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
    ) -> PeriodicWorker:
        """Build a worker running every ``@periodic`` method (or function) of ``objects``.

        Members are found without evaluating properties or other descriptors; names starting
        with ``_`` are skipped when ``exclude_hidden``. Each runs with ``args`` and ``kwargs``.
        """
        callables = [
            (member, args, kwargs)
            for obj in objects
            for member in _periodic_members(obj, exclude_hidden)
        ]
        return cls(
            callables,
            log=log,
            executor_factory=executor_factory,
            cond_cls=cond_cls,
            event_cls=event_cls,
            schedule_strategy=schedule_strategy,
            now_func=now_func,
            on_failure=on_failure,
        )

    def add(self, cb: Callable[..., Any], *args: Any, **kwargs: Any) -> Watcher | None:
        """Add a ``@periodic`` callable, also while running; ``None`` if it is disabled."""
        return self._add(cb, args, kwargs)

    def _add(
        self, cb: object, args: Sequence[Any] | None, kwargs: Mapping[str, Any] | None
    ) -> Watcher | None:
        if not is_periodic(cb):
            raise ValueError(
                f"{_describe(cb)} is not a periodic callable; decorate it with @periodic(spacing)"
            )
        assert callable(cb)
        if not getattr(cb, "_periodic_enabled", True):
            return None
        spacing = validate_spacing(getattr(cb, "_periodic_spacing", None))
        work = Work(callable_name(cb), cb, tuple(args or ()), dict(kwargs or {}))
        entry = _Entry(
            Watcher(work), spacing, bool(getattr(cb, "_periodic_run_immediately", False))
        )
        with self._cond:
            self._entries.append(entry)
            if self._accepting and not self._stopping:
                self._schedule_first(entry, self._now())
                self._cond.notify_all()
        return entry.watcher

    def start(self, allow_empty: bool = False, auto_stop_when_empty: bool = False) -> None:
        """Run the schedule until ``stop()`` (blocks; run it in a thread).

        With ``auto_stop_when_empty`` it also returns once no callable is left to run (each
        raised ``NeverAgain``). A worker stopped before it starts returns at once; ``reset()``
        makes it runnable again. Returns after the runs in flight have finished.
        """
        with self._cond:
            if self._running:
                raise RuntimeError(
                    "PeriodicWorker.start() called while the worker is already running; "
                    "call stop() and wait() before starting it again"
                )
            if not self._entries and not allow_empty:
                raise RuntimeError(
                    "PeriodicWorker has no periodic callables to run; add() some or pass "
                    "allow_empty=True"
                )
            if self._stopping:
                self._log.debug("Periodic worker was stopped before it started; call reset()")
                return
            self._running = True
            self._dead.clear()
        executor: concurrent.futures.Executor | None = None
        try:
            candidate = self._executor_factory()
            if not callable(getattr(candidate, "submit", None)):
                raise TypeError(
                    f"executor_factory must return an executor (with a submit method), "
                    f"got {candidate!r}"
                )
            executor = candidate
            self._run(executor, auto_stop_when_empty)
        finally:
            self._end_run(executor)

    def stop(self) -> None:
        """Ask the worker to stop: no new run starts; ``start()`` returns once runs finish."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the worker is not running; True unless ``timeout`` expired first."""
        self._dead.wait(timeout)
        return self._dead.is_set()

    def reset(self) -> None:
        """Make a stopped worker runnable again, with every callable and statistic reset."""
        with self._cond:
            if self._running:
                raise RuntimeError(
                    "PeriodicWorker.reset() called while the worker is running; "
                    "call stop() and wait() first"
                )
            self._stopping = False
            for entry in self._entries:
                entry.stopped = False
                entry.kind = PERIODIC
                entry.watcher._metrics = Metrics()

    def iter_watchers(self) -> Iterator[Watcher]:
        """Iterate over the watchers of every callable, in the order they were added."""
        with self._cond:
            watchers = [entry.watcher for entry in self._entries]
        return iter(watchers)

    def __len__(self) -> int:
        """How many (enabled) callables the worker has."""
        with self._cond:
            return len(self._entries)

    def pformat(self, columns: Sequence[str] = COLUMNS) -> str:
        """An aligned text table of every callable's state and statistics."""
        if isinstance(columns, str):
            raise TypeError(f"columns must be a sequence of column names, got {columns!r}")
        unknown = [column for column in columns if column not in COLUMNS]
        if unknown:
            raise ValueError(
                f"unknown pformat columns {unknown!r}; valid columns: {', '.join(COLUMNS)}"
            )
        now = self._now()
        with self._cond:
            rows = [_row(entry, now) for entry in self._entries]
        return render_table(
            list(columns), [[row[column] for column in columns] for row in rows], _RIGHT_ALIGNED
        )

    # The schedule loop (runs in start()'s thread).

    def _run(self, executor: concurrent.futures.Executor, auto_stop: bool) -> None:
        with self._cond:
            now = self._now()
            self._heap.clear()
            for entry in self._entries:
                if not entry.stopped:
                    self._schedule_first(entry, now)
            self._accepting = True
        while True:
            with self._cond:
                due = self._wait_for_due(auto_stop)
            if not due:
                return
            for entry, scheduled in due:
                self._submit(executor, entry, scheduled)

    def _wait_for_due(self, auto_stop: bool) -> list[tuple[_Entry, float]]:
        heap = self._heap
        while not self._stopping:
            if heap:
                now = self._now()
                if heap[0][0] <= now:
                    due = []
                    while heap and heap[0][0] <= now:
                        scheduled, _, entry = heapq.heappop(heap)
                        entry.next_run = None
                        entry.active = True
                        self._in_flight += 1
                        due.append((entry, scheduled))
                    return due
                self._cond.wait(heap[0][0] - now)
            elif auto_stop and not self._in_flight:
                return []
            else:
                self._cond.wait()
        return []

    def _schedule_first(self, entry: _Entry, now: float) -> None:
        if entry.run_immediately:
            self._schedule(entry, now, IMMEDIATE)
        else:
            self._schedule(entry, now + entry.spacing, PERIODIC)

    def _schedule(self, entry: _Entry, when: float, kind: str) -> None:
        entry.next_run = when
        entry.kind = kind
        heapq.heappush(self._heap, (when, next(self._seq), entry))

    def _submit(
        self, executor: concurrent.futures.Executor, entry: _Entry, scheduled: float
    ) -> None:
        with self._cond:
            if self._stopping:
                entry.active = False
                self._in_flight -= 1
                self._cond.notify_all()
                return
            kind = entry.kind
        try:
            future = executor.submit(self._call, entry.watcher.work)
        except Exception as exc:
            # Refused (RejectedSubmission, an executor shut down by someone else, a broken
            # pool): a failed run, retried on a later cycle.
            now = self._now()
            failure, text = _failure_of(exc)
            self._complete(entry, kind, scheduled, _Outcome(now, failure, text), now)
            return
        future.add_done_callback(functools.partial(self._on_done, entry, kind, scheduled))

    def _call(self, work: Work) -> _Outcome:
        started = self._now()
        try:
            work()
        except NeverAgain:
            return _Outcome(started, never_again=True)
        except Exception:
            exc_type, exc, tb = sys.exc_info()
            assert exc_type is not None and exc is not None
            return _Outcome(started, (exc_type, exc, tb), traceback.format_exc())
        return _Outcome(started)

    def _on_done(
        self,
        entry: _Entry,
        kind: str,
        scheduled: float,
        future: concurrent.futures.Future[_Outcome],
    ) -> None:
        finished = self._now()
        if future.cancelled():
            exc: BaseException | None = concurrent.futures.CancelledError(
                f"the executor cancelled the run of {entry.watcher.work.name} before it started"
            )
        else:
            exc = future.exception()
        if exc is None:
            outcome = future.result()
        else:
            failure, text = _failure_of(exc)
            outcome = _Outcome(finished, failure, text)
        self._complete(entry, kind, scheduled, outcome, finished)

    def _complete(
        self, entry: _Entry, kind: str, scheduled: float, outcome: _Outcome, finished: float
    ) -> None:
        watcher = entry.watcher
        with self._cond:
            metrics = watcher._metrics.after_run(
                finished - outcome.started,
                max(0.0, outcome.started - scheduled),
                outcome.failure is not None,
            )
            if outcome.never_again:
                metrics = dataclasses.replace(metrics, requested_stop=True)
            watcher._metrics = metrics
        if outcome.failure is not None:
            self._report(entry, kind, outcome.failure, outcome.traceback)
        next_run = None if outcome.never_again else self._next_run(entry, outcome, finished)
        with self._cond:
            entry.active = False
            self._in_flight -= 1
            if next_run is None:
                entry.stopped = True
            elif self._accepting and not self._stopping:
                self._schedule(entry, next_run, PERIODIC)
            self._cond.notify_all()

    def _next_run(self, entry: _Entry, outcome: _Outcome, finished: float) -> float:
        try:
            next_run = self._strategy(entry.spacing, outcome.started, finished)
            if isinstance(next_run, bool) or not isinstance(next_run, int | float):
                raise TypeError(f"the strategy returned {next_run!r}, not a number")
            if math.isnan(next_run):
                raise ValueError("the strategy returned NaN")
        except Exception:
            self._log.exception(
                "Schedule strategy %r failed for %s; running it again after one spacing",
                self._strategy,
                entry.watcher.work.name,
            )
            return last_finished(entry.spacing, outcome.started, finished)
        return float(next_run)

    def _report(self, entry: _Entry, kind: str, failure: ExcInfo, text: str | None) -> None:
        work = entry.watcher.work
        if self._on_failure is None:
            self._log.error(
                "Failed to call %s %r (it runs every %0.2f seconds)",
                kind,
                work.name,
                entry.spacing,
                exc_info=failure,
            )
            return
        try:
            self._on_failure(work.callback, kind, entry.spacing, failure, traceback=text)
        except Exception:
            self._log.exception("on_failure raised while reporting a failure of %s", work.name)

    def _end_run(self, executor: concurrent.futures.Executor | None) -> None:
        with self._cond:
            self._accepting = False
            while self._in_flight:
                self._cond.wait()
            self._heap.clear()
            for entry in self._entries:
                entry.next_run = None
        try:
            if executor is not None and getattr(self._executor_factory, "shutdown", True):
                executor.shutdown(wait=True)
        finally:
            with self._cond:
                self._running = False
            self._dead.set()


def _row(entry: _Entry, now: float) -> dict[str, str]:
    watcher = entry.watcher
    runs_in = "-" if entry.next_run is None else f"{max(0.0, entry.next_run - now):.3f}s"
    return {
        "Name": watcher.work.name,
        "Active": "Yes" if entry.active else "No",
        "Periodicity": f"{entry.spacing:g}",
        "Runs in": runs_in,
        "Runs": str(watcher.runs),
        "Failures": str(watcher.failures),
        "Successes": str(watcher.successes),
        "Stop Requested": "Yes" if watcher.requested_stop else "No",
        "Average elapsed": f"{watcher.average_elapsed:.4f}",
        "Average elapsed waiting": f"{watcher.average_elapsed_waiting:.4f}",
    }


def _describe(obj: object) -> str:
    if callable(obj):
        return f"callable {callable_name(obj)!r}"
    return f"{obj!r} (not even callable)"


def _periodic_members(obj: object, exclude_hidden: bool) -> Iterator[Callable[..., Any]]:
    """The enabled ``@periodic`` members of ``obj``, without evaluating descriptors."""
    if is_periodic(obj):
        yield obj  # type: ignore[misc]
        return
    for name in dir(obj):
        if exclude_hidden and name.startswith("_"):
            continue
        try:
            raw = inspect.getattr_static(obj, name)
        except AttributeError:
            continue
        target = raw.__func__ if isinstance(raw, staticmethod | classmethod) else raw
        if not is_periodic(target) or not getattr(target, "_periodic_enabled", True):
            continue
        yield getattr(obj, name)
