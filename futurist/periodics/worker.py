"""PeriodicWorker: runs periodic callables on an executor, each on its own schedule.

One callback's path, from ``add`` to its next run::

    add(cb) -> an _Entry: its watcher, its call bound to its arguments, its spacing
        |
        |  pushed with its first due time (now + spacing; now if run_immediately)
        v
    heap of (due time, seq, entry)  <-----------------------------------------+
        |                                                                     |
        |  start()'s loop (_wait_for_due) sleeps on the condition until the   |
        |  earliest entry is due, then claims it: pops it, marks it active    |
        |  and counts it in flight                                            |
        v                                                                     |
    _serve(entry): in start()'s own thread by default, else submitted         |
        |  to the executor                                                    |
        v                                                                     |
    calls the callback, then _finish: records the run in the watcher, asks    |
    the strategy for the next due time and pushes the entry back -------------+
    (and, if another entry is already due, claims it for _serve to call next)

One condition (``cond_cls``) guards this state and wakes the loop when something changes (an
add, a run finishing before the loop's deadline, stop): nothing polls. Callbacks, ``submit``
and ``on_failure`` run without the condition held. Each entry is in exactly one place: in the
heap, claimed (in flight) or stopped, so a callback never overlaps itself.

Two choices keep the worker near the cost of a minimal heap-and-condition scheduler
(``benchmarks/bench_periodics.py``; timings are medians of 7 interleaved rounds on a 2-core
machine shared with other jobs, so rough; instruction counts are valgrind's, on virtual time):

* Without an ``executor_factory`` the loop calls ``_serve`` itself, which is what a
  synchronous executor would do, minus building one per start and a submission per
  wake-up. Idle (10 callbacks every second) that overhead took the worker's CPU from 1.07
  to 1.48 times the minimal scheduler's.
* ``_serve`` runs every entry already due when a callback returns, so callbacks due
  together share one submission: 200 callbacks due at once on a synchronous executor cost
  about 16,000 instructions per callback, against 55,000 with a submission each. A slow
  callback still holds only its own executor worker: ``_serve`` claims another entry only
  once its callback returned, and the loop submits each entry that falls due meanwhile.
"""

from __future__ import annotations

import concurrent.futures
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
from futurist.periodics import table
from futurist.periodics.decorator import NeverAgain, is_enabled, is_periodic, validate_spacing
from futurist.periodics.discovery import describe, periodic_members
from futurist.periodics.strategies import (
    DEFAULT_JITTER,
    STRATEGIES,
    Strategy,
    last_finished,
    resolve_strategy,
)
from futurist.periodics.table import COLUMNS
from futurist.periodics.work import IMMEDIATE, PERIODIC, Watcher, Work

__all__ = ["COLUMNS", "ExcInfo", "OnFailure", "PeriodicWorker"]

LOG = logging.getLogger(__name__)

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


class _Entry:
    """One callable's schedule state; guarded by the worker's condition."""

    __slots__ = (
        "active",
        "call",
        "kind",
        "run_immediately",
        "scheduled",
        "spacing",
        "stopped",
        "watcher",
    )

    def __init__(self, watcher: Watcher, spacing: float, run_immediately: bool) -> None:
        self.watcher = watcher
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
        self.run_immediately = run_immediately
        self.kind = PERIODIC
        self.scheduled = 0.0
        """When its current (or last) run was due."""
        self.active = False
        self.stopped = False


class _Submission:
    """One ``_serve`` handed to the executor: its first entry, and whether it began."""

    __slots__ = ("entry", "started")

    def __init__(self, entry: _Entry) -> None:
        self.entry = entry
        self.started = False


class PeriodicWorker:
    """Runs ``@periodic`` callables on an executor, each every ``spacing`` seconds.

    ``callables`` are ``(callback, args, kwargs)`` triples. ``start()`` blocks, running the
    schedule until ``stop()``; run it in a thread (or green thread). Callbacks run on the
    executor ``executor_factory()`` returns; without one, one at a time in the thread running
    ``start``, as a synchronous executor would run them. ``schedule_strategy`` names how the
    next run is computed (the strategies of :mod:`futurist.periodics`). A failing callback
    keeps its schedule; each failure goes to ``on_failure`` (or the log). ``cond_cls``,
    ``event_cls`` and ``now_func`` are how the worker waits and tells the time: eventlet's
    green ones make it run under eventlet.
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
        self._executor_factory = executor_factory
        """None: callbacks run in start()'s thread, as a synchronous executor would run them."""
        self._strategy = resolve_strategy(schedule_strategy)
        # A function of the caller's is checked on every use; the built-in ones are trusted.
        self._trusted_strategy = self._strategy in STRATEGIES.values()
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
        """Runs may be scheduled and started: running, and no stop asked for."""
        self._stopping = False
        """stop() was called (or a callback wants the program out); sticky until reset()."""
        self._exiting: BaseException | None = None
        """What a callback raised that is not an ``Exception``; start() re-raises it."""
        self._in_flight = 0
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
            if self._accepting:
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
            if self._executor_factory is not None:
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
            self._accepting = False
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

        ``columns`` names at least one of :data:`~futurist.periodics.table.COLUMNS`; anything
        else is a ``ValueError``, as in the original futurist.
        """
        columns = table.check_columns(columns)
        now = self._now()
        with self._cond:
            due = {entry: when for when, _, entry in self._heap}
            rows = [
                table.row(
                    entry.watcher,
                    entry.spacing,
                    entry.active,
                    due[entry] - now if entry in due else None,
                )
                for entry in self._entries
            ]
        return table.render_table(columns, rows)

    # The schedule loop, in start()'s thread.

    def _run(self, executor: concurrent.futures.Executor | None, auto_stop: bool) -> None:
        with self._cond:
            self._heap.clear()
            self._schedule_first(
                [entry for entry in self._entries if not entry.stopped], self._now()
            )
            self._accepting = not self._stopping
        while True:
            with self._cond:
                due = self._wait_for_due(auto_stop)
            if due is None:
                return
            if executor is None:
                self._serve(due)
            else:
                self._submit(executor, _Submission(due))

    def _wait_for_due(self, auto_stop: bool) -> _Entry | None:
        """Claim the next entry once it is due; None once the worker should stop."""
        heap = self._heap
        while self._accepting:
            if heap:
                now = self._now()
                if heap[0][0] <= now:
                    return self._claimed(heapq.heappop(heap))
                self._cond.wait(heap[0][0] - now)
            elif auto_stop and not self._in_flight:
                return None
            else:
                self._cond.wait()
        return None

    def _schedule_first(self, entries: Iterable[_Entry], now: float) -> None:
        for entry in entries:
            if entry.run_immediately:
                self._schedule(entry, now, IMMEDIATE)
            else:
                self._schedule(entry, now + entry.spacing, PERIODIC)

    def _schedule(self, entry: _Entry, when: float, kind: str) -> None:
        entry.kind = kind
        heapq.heappush(self._heap, (when, next(self._seq), entry))

    def _claimed(self, item: tuple[float, int, _Entry]) -> _Entry:
        """Mark the entry of a heap item just taken as running; return it."""
        scheduled, _, entry = item
        entry.scheduled = scheduled
        entry.active = True
        self._in_flight += 1
        return entry

    def _submit(self, executor: concurrent.futures.Executor, submission: _Submission) -> None:
        try:
            future = executor.submit(self._serve_submission, submission)
        except Exception as exc:
            # Refused (RejectedSubmission, an executor shut down by someone else, a broken
            # pool): a failed run, retried on a later cycle.
            now = self._now()
            self._finish(submission.entry, now, now, _Failure(exc), claim_next=False)
            return
        if not submission.started:  # once started, _serve itself finishes every entry
            future.add_done_callback(functools.partial(self._on_submission_done, submission))

    def _on_submission_done(
        self, submission: _Submission, future: concurrent.futures.Future[None]
    ) -> None:
        if submission.started:
            return
        # The executor ended the submission without running it (cancelled, broken pool).
        entry = submission.entry
        if future.cancelled():
            exc: BaseException = concurrent.futures.CancelledError(
                f"the executor cancelled the run of {entry.watcher.work.name} before it started"
            )
        else:
            exc = future.exception() or RuntimeError(
                f"the executor completed the run of {entry.watcher.work.name} without running it"
            )
        now = self._now()
        self._finish(entry, now, now, _Failure(exc), claim_next=False)

    # Runs: in start()'s thread without an executor, else on the executor.

    def _serve_submission(self, submission: _Submission) -> None:
        submission.started = True
        try:
            self._serve(submission.entry)
        except BaseException:
            # _serve recorded the exiting exception and stopped the worker; start() re-raises
            # it in its own thread. Raised here, it would only fail a future nobody reads.
            return

    def _serve(self, first: _Entry) -> None:
        """Run ``first``, then every entry that is due by the time the last one returned."""
        now = self._now
        entry: _Entry | None = first
        while entry is not None:
            started = now()
            try:
                entry.call()
            except NeverAgain:
                entry = self._finish(entry, started, now(), never_again=True)
            except Exception as exc:
                entry = self._finish(entry, started, now(), _Failure(exc))
            except BaseException as exc:
                # Exiting (SystemExit, KeyboardInterrupt, a killed green thread): _finish
                # records the run and stops the worker, so start() re-raises it.
                self._finish(entry, started, now(), _Failure(exc))
                raise
            else:
                entry = self._finish(entry, started, now())

    def _finish(
        self,
        entry: _Entry,
        started: float,
        finished: float,
        failure: _Failure | None = None,
        *,
        never_again: bool = False,
        claim_next: bool = True,
    ) -> _Entry | None:
        """Record a finished run, schedule the next one and claim the next due entry.

        Returns the claimed entry (only when ``claim_next``: ``_serve`` runs it), else None.
        """
        watcher = entry.watcher
        waited = started - entry.scheduled if started > entry.scheduled else 0.0
        if failure is not None:
            with self._cond:
                watcher._record(finished - started, waited, True, False)
                if failure.exiting:  # the program wants out: stop, and start() re-raises it
                    if self._exiting is None:
                        self._exiting = failure.exc
                    self._stopping = True
                    self._accepting = False
                    self._cond.notify_all()
            self._report(entry, failure)
        if never_again:
            next_run = None
        elif self._trusted_strategy:
            next_run = self._strategy(entry.spacing, started, finished)
        else:
            next_run = self._checked_next_run(entry, started, finished)
        heap = self._heap
        with self._cond:
            if failure is None:
                watcher._record(finished - started, waited, False, never_again)
            entry.active = False
            self._in_flight -= 1
            if next_run is None:
                entry.stopped = True
            elif claim_next and heap and heap[0][0] <= finished and self._accepting:
                # Another entry is due: push this one and take the earliest in one heap step
                # (this entry itself, if it is already due again). Every run of a burst of
                # callbacks due together takes this path.
                entry.kind = PERIODIC
                return self._claimed(heapq.heappushpop(heap, (next_run, next(self._seq), entry)))
            elif self._accepting:
                self._schedule(entry, next_run, PERIODIC)
                if heap[0][2] is entry:
                    self._cond.notify_all()  # the loop may sleep until a later deadline
            if not self._in_flight and (not self._accepting or not heap):
                self._cond.notify_all()  # the drain in _end_run, or an auto stop
            return None

    def _checked_next_run(self, entry: _Entry, started: float, finished: float) -> float:
        """The caller's strategy's answer; one spacing after ``finished`` if it has none."""
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
