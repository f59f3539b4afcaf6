"""PeriodicWorker: runs periodic callables on an executor, each on its own schedule.

Data flow::

        add() / start() / a finished run --push--> [heap of (next_run, seq, entry)]
                                                     |                  ^
    start()'s loop: sleeps on the condition until    |  claim           |  claim the next due
    heap[0] is due (no timeout when empty), claims   v                  |  entry (or linger
    it and submits a runner for it ------> executor.submit(runner) --> runner: run, record,
                                                                        reschedule, repeat

One condition (``cond_cls``) guards all state and wakes sleepers when something changes (an
add, a finished run, stop): nothing polls. A runner runs the entry it was submitted for, then
keeps running entries that are due, lingering up to ``LINGER`` seconds for the next one, so
a burst of due callbacks costs one submission instead of one each; the loop submits another
runner whenever an entry is due and no runner is free, so a slow callback holds only its own
executor worker. A runner that a synchronous executor runs inside the loop's own ``submit``
call lingers for every deadline: it is the loop's thread, which would only be waiting anyway.
Callbacks, ``submit`` and ``on_failure`` run without the condition held. Each entry is in
exactly one place: in the heap, claimed (in flight) or stopped, so a callback never overlaps
itself.
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import functools
import heapq
import itertools
import logging
import math
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, Protocol

from futurist._naming import callable_name
from futurist.periodics.decorator import NeverAgain, is_enabled, is_periodic, validate_spacing
from futurist.periodics.discovery import describe, periodic_members
from futurist.periodics.factories import SynchronousExecutorFactory
from futurist.periodics.strategies import (
    DEFAULT_JITTER,
    STRATEGIES,
    Strategy,
    last_finished,
    resolve_strategy,
)
from futurist.periodics.table import render_table
from futurist.periodics.work import IMMEDIATE, PERIODIC, Watcher, Work

__all__ = ["COLUMNS", "LINGER", "ExcInfo", "OnFailure", "PeriodicWorker"]

LOG = logging.getLogger(__name__)

LINGER = 0.002
"""Seconds a runner waits for the next due callback before handing back to the loop."""

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
"""The columns :meth:`~futurist.periodics.PeriodicWorker.pformat` can show (all by default)."""

_RIGHT_ALIGNED = frozenset(COLUMNS[2:7] + COLUMNS[8:])


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


class _Failure:
    """How a run failed: the exception info and its formatted traceback."""

    __slots__ = ("exc_info", "text")

    def __init__(self, exc: BaseException) -> None:
        self.exc_info: ExcInfo = (type(exc), exc, exc.__traceback__)
        self.text = "".join(traceback.format_exception(exc))


class _Entry:
    """One callable's schedule state; guarded by the worker's condition."""

    __slots__ = (
        "active",
        "call",
        "kind",
        "next_run",
        "run_immediately",
        "scheduled",
        "spacing",
        "stopped",
        "watcher",
    )

    def __init__(self, watcher: Watcher, spacing: float, run_immediately: bool) -> None:
        self.watcher = watcher
        work = watcher.work
        # Bound once here: each run then makes one call, with nothing to look up.
        self.call: Callable[[], Any] = functools.partial(work.callback, *work.args, **work.kwargs)
        self.spacing = spacing
        self.run_immediately = run_immediately
        self.kind = PERIODIC
        self.next_run: float | None = None
        self.scheduled = 0.0
        self.active = False
        self.stopped = False


class _Runner:
    """One submission: the entry it was submitted for, and whether its body began."""

    __slots__ = ("entry", "generation", "inline", "started")

    def __init__(self, entry: _Entry, generation: int) -> None:
        self.entry = entry
        self.generation = generation
        self.started = False
        self.inline = False


_SUBMITTING: contextvars.ContextVar[_Runner | None] = contextvars.ContextVar(
    "futurist_periodics_submitting", default=None
)
"""The runner start()'s loop is submitting; only a runner run by that very call sees itself."""


class PeriodicWorker:
    """Runs ``@periodic`` callables on an executor, each every ``spacing`` seconds.

    ``callables`` are ``(callback, args, kwargs)`` triples. ``start()`` blocks, running the
    schedule until ``stop()``; run it in a thread (or green thread). Callbacks run on the
    executor ``executor_factory()`` returns (default: a synchronous executor, so one at a time
    in the thread running ``start``). ``schedule_strategy`` names how the next run is computed
    (the strategies of :mod:`futurist.periodics`). A failing callback keeps its schedule; each
    failure goes to ``on_failure`` (or the log). ``cond_cls``, ``event_cls`` and ``now_func``
    are how the worker waits and tells the time: eventlet's green ones make it run under eventlet.
    """

    BUILT_IN_STRATEGIES: Mapping[str, Strategy] = STRATEGIES
    """The strategies ``schedule_strategy`` may name (the original futurist's names)."""

    DEFAULT_JITTER: float = DEFAULT_JITTER
    """Largest fraction of the spacing the ``_jitter`` strategies add (the original's name)."""

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
        if executor_factory is not None and not callable(executor_factory):
            raise TypeError(f"executor_factory must be callable or None, got {executor_factory!r}")
        if on_failure is not None and not callable(on_failure):
            # ValueError, as in the original futurist.
            raise ValueError(f"on_failure must be callable or None, got {on_failure!r}")
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
        # A function of the caller's is checked on every use; the built-in ones are trusted.
        self._checked_strategy = self._strategy not in STRATEGIES.values()
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
        self._exiting: BaseException | None = None
        """What a callback raised that is not an ``Exception``; start() re-raises it."""
        self._in_flight = 0
        self._lingering = 0
        self._loop_parked = False
        self._generation = 0
        self._loop_ident = 0
        for item in callables:
            try:
                callback, args, kwargs = item
            except (TypeError, ValueError) as exc:
                # The same error type as unpacking raised, as in the original futurist.
                raise type(exc)(
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
            for member in periodic_members(obj, exclude_hidden)
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
                f"{describe(cb)} is not a periodic callable; decorate it with @periodic(spacing)"
            )
        assert callable(cb)
        if not is_enabled(cb):
            return None
        spacing = validate_spacing(getattr(cb, "_periodic_spacing", None))
        work = Work(callable_name(cb, module=True), cb, tuple(args or ()), dict(kwargs or {}))
        entry = _Entry(
            Watcher(work), spacing, bool(getattr(cb, "_periodic_run_immediately", False))
        )
        with self._cond:
            self._entries.append(entry)
            if self._accepting and not self._stopping:
                self._schedule_first((entry,), self._now())
                self._cond.notify_all()
        return entry.watcher

    def start(self, allow_empty: bool = False, auto_stop_when_empty: bool = False) -> None:
        """Run the schedule until ``stop()`` (blocks; run it in a thread).

        With ``auto_stop_when_empty`` it also returns once no callable is left to run (each
        raised ``NeverAgain``). A worker stopped before it starts returns at once; ``reset()``
        makes it runnable again. Returns after the runs in flight have finished.

        A callback raising a ``BaseException`` that is not an ``Exception``
        (``KeyboardInterrupt``, ``SystemExit``) stops the worker as ``stop()`` does, and
        ``start()`` re-raises it once the runs in flight have finished.
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
        with self._cond:
            exiting, self._exiting = self._exiting, None
        if exiting is not None:
            raise exiting

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
            self._exiting = None
            for entry in self._entries:
                entry.stopped = False
                entry.kind = PERIODIC
                entry.watcher._reset()

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
        """An aligned text table of every callable's state and statistics.

        ``columns`` names at least one of :data:`~futurist.periodics.worker.COLUMNS`; anything
        else is a ``ValueError``, as in the original futurist.
        """
        if isinstance(columns, str):
            raise ValueError(f"columns must be a sequence of column names, got {columns!r}")
        columns = list(columns)
        if not columns:
            raise ValueError(
                f"pformat needs at least one column; valid columns: {', '.join(COLUMNS)}"
            )
        unknown = [column for column in columns if column not in COLUMNS]
        if unknown:
            raise ValueError(
                f"unknown pformat columns {unknown!r}; valid columns: {', '.join(COLUMNS)}"
            )
        now = self._now()
        with self._cond:
            rows = [_row(entry, now) for entry in self._entries]
        return render_table(
            columns, [[row[column] for column in columns] for row in rows], _RIGHT_ALIGNED
        )

    # The schedule loop, in start()'s thread.

    def _run(self, executor: concurrent.futures.Executor, auto_stop: bool) -> None:
        self._loop_ident = threading.get_ident()
        with self._cond:
            now = self._now()
            self._heap.clear()
            self._schedule_first([entry for entry in self._entries if not entry.stopped], now)
            self._generation += 1
            self._accepting = True
        while True:
            with self._cond:
                due = self._wait_for_due(auto_stop)
                generation = self._generation
            if due is None:
                return
            self._submit(executor, _Runner(due, generation))

    def _wait_for_due(self, auto_stop: bool) -> _Entry | None:
        heap = self._heap
        while not self._stopping:
            if heap and not self._lingering:
                now = self._now()
                if heap[0][0] <= now:
                    return self._claim()
                self._cond.wait(heap[0][0] - now)
            elif auto_stop and not heap and not self._in_flight:
                return None
            else:
                # Nothing is due, or a runner lingers for what is: wait to be told.
                self._loop_parked = True
                try:
                    self._cond.wait()
                finally:
                    self._loop_parked = False
        return None

    def _schedule_first(self, entries: Iterable[_Entry], now: float) -> None:
        for entry in entries:
            if entry.run_immediately:
                self._schedule(entry, now, IMMEDIATE)
            else:
                self._schedule(entry, now + entry.spacing, PERIODIC)

    def _schedule(self, entry: _Entry, when: float, kind: str) -> None:
        entry.next_run = when
        entry.kind = kind
        heapq.heappush(self._heap, (when, next(self._seq), entry))

    def _claim(self) -> _Entry:
        scheduled, _, entry = heapq.heappop(self._heap)
        entry.scheduled = scheduled
        entry.next_run = None
        entry.active = True
        self._in_flight += 1
        return entry

    def _submit(self, executor: concurrent.futures.Executor, runner: _Runner) -> None:
        token = _SUBMITTING.set(runner)
        try:
            future = executor.submit(self._run_entries, runner)
        except Exception as exc:
            # Refused (RejectedSubmission, an executor shut down by someone else, a broken
            # pool): a failed run, retried on a later cycle.
            now = self._now()
            self._complete(runner.entry, now, now, failure=_Failure(exc))
            return
        finally:
            _SUBMITTING.reset(token)
        if not runner.started:  # once started, the runner itself completes every entry
            future.add_done_callback(functools.partial(self._on_runner_done, runner))

    def _on_runner_done(self, runner: _Runner, future: concurrent.futures.Future[None]) -> None:
        if runner.started:
            return
        # The executor ended the submission without running it (cancelled, broken pool).
        entry = runner.entry
        if future.cancelled():
            exc: BaseException = concurrent.futures.CancelledError(
                f"the executor cancelled the run of {entry.watcher.work.name} before it started"
            )
        else:
            exc = future.exception() or RuntimeError(
                f"the executor completed the run of {entry.watcher.work.name} without running it"
            )
        now = self._now()
        self._complete(entry, now, now, failure=_Failure(exc))

    # Runners, in the executor.

    def _run_entries(self, runner: _Runner) -> None:
        runner.started = True
        # Run by the submit call itself (a synchronous executor): this runner is the loop's
        # own thread, so it may wait for every deadline instead of handing back.
        runner.inline = _SUBMITTING.get() is runner and threading.get_ident() == self._loop_ident
        entry: _Entry | None = runner.entry
        while entry is not None:
            started = self._now()
            try:
                entry.call()
            except NeverAgain:
                entry = self._complete(entry, started, self._now(), never_again=True, runner=runner)
            except Exception as exc:
                entry = self._complete(
                    entry, started, self._now(), failure=_Failure(exc), runner=runner
                )
            except BaseException as exc:
                # Exiting (SystemExit, KeyboardInterrupt, a killed green thread): record the
                # run, stop the worker so start() re-raises it, and let it end this runner.
                self._complete(entry, started, self._now(), failure=_Failure(exc), exiting=exc)
                raise
            else:
                entry = self._complete(entry, started, self._now(), runner=runner)

    def _complete(
        self,
        entry: _Entry,
        started: float,
        finished: float,
        *,
        failure: _Failure | None = None,
        never_again: bool = False,
        runner: _Runner | None = None,
        exiting: BaseException | None = None,
    ) -> _Entry | None:
        """Record a finished run, reschedule it and, for a runner, claim the next due entry.

        A run that raised ``exiting`` (not an ``Exception``) stops the worker instead, and
        ``start()`` re-raises the first such exception.
        """
        watcher = entry.watcher
        waited = started - entry.scheduled if started > entry.scheduled else 0.0
        if failure is not None:
            with self._cond:
                watcher._record(finished - started, waited, True, False)
            self._report(entry, failure)
        if never_again:
            next_run = None
        elif self._checked_strategy:
            next_run = self._next_run(entry, started, finished)
        else:
            next_run = self._strategy(entry.spacing, started, finished)
        with self._cond:
            if failure is None:
                watcher._record(finished - started, waited, False, never_again)
            entry.active = False
            self._in_flight -= 1
            if exiting is not None:
                if self._exiting is None:
                    self._exiting = exiting
                self._stopping = True
                self._cond.notify_all()
            if next_run is None:
                entry.stopped = True
            elif self._accepting and not self._stopping:
                self._schedule(entry, next_run, PERIODIC)
                if self._heap[0][2] is entry:
                    self._cond.notify_all()  # sleepers wait for a later run
            if not self._in_flight and (not self._accepting or not self._heap):
                self._cond.notify_all()  # the drain in _end_run, or an auto stop
            if runner is None:
                return None
            return self._claim_next(runner)

    def _claim_next(self, runner: _Runner) -> _Entry | None:
        """Claim the next due entry for a runner, lingering if one is nearly due."""
        heap = self._heap
        linger = math.inf if runner.inline else LINGER
        while heap and self._accepting and not self._stopping:
            if runner.generation != self._generation:
                return None
            wait = heap[0][0] - self._now()
            if wait <= 0:
                return self._claim()
            if wait > linger:
                return None
            self._lingering += 1
            try:
                self._cond.wait(wait)
            finally:
                self._lingering -= 1
                if not self._lingering and self._loop_parked:
                    self._cond.notify_all()  # the loop waits for lingering runners to end
        return None

    def _next_run(self, entry: _Entry, started: float, finished: float) -> float:
        try:
            next_run = self._strategy(entry.spacing, started, finished)
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
            return last_finished(entry.spacing, started, finished)
        return float(next_run)

    def _report(self, entry: _Entry, failure: _Failure) -> None:
        work = entry.watcher.work
        if self._on_failure is None:
            self._log.error(
                "Failed to call %s %r (it runs every %0.2f seconds)",
                entry.kind,
                work.name,
                entry.spacing,
                exc_info=failure.exc_info,
            )
            return
        try:
            self._on_failure(
                work.callback, entry.kind, entry.spacing, failure.exc_info, traceback=failure.text
            )
        except Exception:
            self._log.exception("on_failure raised while reporting a failure of %s", work.name)

    def _end_run(self, executor: concurrent.futures.Executor | None) -> None:
        with self._cond:
            self._accepting = False
            self._heap.clear()
            for entry in self._entries:
                entry.next_run = None
            self._cond.notify_all()
            while self._in_flight:
                self._cond.wait()
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
    elapsed, waiting = "-", "-"  # the averages are undefined before the first run
    if watcher.runs:
        elapsed = f"{watcher.average_elapsed:.4f}"
        waiting = f"{watcher.average_elapsed_waiting:.4f}"
    return {
        "Name": watcher.work.name,
        "Active": "Yes" if entry.active else "No",
        "Periodicity": f"{entry.spacing:g}",
        "Runs in": runs_in,
        "Runs": str(watcher.runs),
        "Failures": str(watcher.failures),
        "Successes": str(watcher.successes),
        "Stop Requested": "Yes" if watcher.requested_stop else "No",
        "Average elapsed": elapsed,
        "Average elapsed waiting": waiting,
    }
