"""The schedule loop of a PeriodicWorker: the heap of due runs, claiming them, running them.

One callback's path, from ``add`` to its next run::

    add(cb) -> an Entry: its watcher, its call bound to its arguments, its timing
        |
        |  pushed with its first due time (now + spacing, the schedule's next moment,
        |  or now if run_immediately)
        v
    heap of (due time, order, entry)  <-----------------------------------------+
        |                                                                     |
        |  start()'s loop (_wait_for_due) sleeps on the condition until the   |
        |  earliest entry is due, then claims it: pops it, marks it active    |
        |  and counts it in flight (a checked entry is looked at first: it    |
        |  may be early by the wall clock, missed or coalesced)               |
        v                                                                     |
    _serve(entry): in start()'s own thread by default, else submitted         |
        |  to the executor                                                    |
        v                                                                     |
    calls the callback, then (a plain spacing entry) counts it in place or    |
    goes through _finish:                                                     |
    records the run, computes the next due time and pushes the entry back ----+
    (and, if another entry is already due, claims it for _serve to call next)

One condition (``cond_cls``) guards this state and wakes the loop when something changes (an
add, a run finishing before the loop's deadline, stop): nothing polls. Callbacks, ``submit``
and ``on_failure`` run without the condition held. Each entry is in exactly one place: in the
heap, claimed (in flight) or stopped, so a callback never overlaps itself.

The heap is on the worker's clock (``now_func``, monotonic). A calendar entry's due moment is
on the wall clock (``wall_func``): its heap key is that moment less the wall clock's offset
from ``now_func``, read again each time the loop is about to wait (and it waits at most
:data:`WALL_CHECK` seconds while calendar entries exist), so a clock jump or a suspend re-keys
them once the runs due at that wake-up are done; and a calendar entry is never run before its
moment by the wall clock. A wake-up at a due time goes straight to its entry.

Three choices keep the worker near the cost of a minimal heap-and-condition scheduler
(``benchmarks/periodics_floor.py``): without an ``executor_factory`` the loop calls ``_serve``
itself, which is what a synchronous executor would do minus building one and a submission per
wake-up; ``_serve`` runs every entry already due when a callback returns, so callbacks due
together share one submission, and a plain entry's run costs one lock hold and one heap step;
and that run allocates nothing but its heap item (the statistics are added to the entry's
:class:`~futurist.periodics.tally.Tally` in place; ties in the heap are broken by the entry's
``order``, not a counter).
"""

from __future__ import annotations

import concurrent.futures
import functools
import heapq
import logging
from collections.abc import Callable, Iterable
from typing import Any

from futurist.periodics.decorator import NeverAgain
from futurist.periodics.entries import Condition, Entry, Event, Failure, OnFailure, Submission
from futurist.periodics.strategies import Strategy, last_started
from futurist.periodics.tally import Lock
from futurist.periodics.timekeeper import Timekeeper
from futurist.periodics.work import IMMEDIATE, PERIODIC, describe_schedule

__all__ = ["WALL_CHECK", "Engine"]

WALL_CHECK = 60.0
"""Longest sleep while calendar entries exist: how soon a suspend or a clock jump is seen."""


class Engine:
    """The heap, the loop and the runs; :class:`~futurist.periodics.PeriodicWorker` is its API."""

    def __init__(  # noqa: PLR0917 (the worker's own order)
        self,
        log: logging.Logger | logging.LoggerAdapter[Any],
        cond: Condition,
        guard: Lock,
        dead: Event,
        strategy: Strategy,
        now_func: Callable[[], float],
        wall_func: Callable[[], float],
        on_failure: OnFailure | None,
    ) -> None:
        self._log = log
        self._times = Timekeeper(strategy, now_func, wall_func, log)
        self._fixed_rate = strategy is last_started
        """The default strategy, computed in place on the fast path."""
        self._now = now_func
        self._wall = wall_func
        self._on_failure = on_failure
        self._cond = cond
        self._guard = guard
        """Held to change the state: ``cond``'s own lock where it is a C lock (threading's),
        whose ``with`` calls no Python code, else ``cond`` itself."""
        # The lock's own acquire and release (C calls for threading's lock), for the one lock
        # hold of each run.
        self._acquire: Callable[[], object] = getattr(guard, "acquire", guard.__enter__)
        self._release: Callable[[], object] = getattr(
            guard, "release", functools.partial(guard.__exit__, None, None, None)
        )
        self._dead = dead
        self._dead.set()
        self._entries: list[Entry] = []
        self._calendars = 0
        """How many entries have a calendar schedule (they make the loop watch the wall)."""
        self._heap: list[tuple[float, int, Entry]] = []
        """(due time, the entry's order, entry): the order breaks ties without a counter."""
        self._running = False
        self._accepting = False
        """Runs may be scheduled and started: running, and no stop asked for."""
        self._stopping = False
        """stop() was called (or a callback wants the program out); sticky until reset()."""
        self._exiting: BaseException | None = None
        """What a callback raised that is not an ``Exception``; start() re-raises it."""
        self._in_flight = 0

    def _register(self, entry: Entry) -> None:
        """Add an entry; scheduled at once if the worker is running."""
        with self._guard:
            entry.order = len(self._entries)
            self._entries.append(entry)
            self._calendars += entry.timing.schedule is not None
            if self._accepting:
                self._schedule_first((entry,), self._now())
                self._cond.notify_all()

    # The schedule loop, in start()'s thread.

    def _run(self, executor: concurrent.futures.Executor | None, auto_stop: bool) -> None:
        with self._guard:
            self._heap.clear()
            self._schedule_first(
                [entry for entry in self._entries if not entry.stopped], self._now()
            )
            self._accepting = not self._stopping
        acquire, release = self._acquire, self._release
        while True:
            acquire()
            try:
                due = self._wait_for_due(auto_stop)
            finally:
                release()
            if due is None:
                return
            if executor is None:
                self._serve(due)
            else:
                self._submit(executor, Submission(due))

    def _wait_for_due(self, auto_stop: bool) -> Entry | None:
        """Claim the next entry once it is due; None once the worker should stop.

        Calendar keys follow the wall clock only when nothing is due, just before waiting:
        a wake-up at a due time goes straight to its entry.
        """
        heap = self._heap
        while self._accepting:
            if heap:
                now = self._now()
                if heap[0][0] > now and self._calendars and self._times.rekey(heap):
                    heapq.heapify(heap)
                if heap[0][0] <= now:
                    entry = self._take(now)
                    if entry is not None:
                        return entry
                    continue
                wait = heap[0][0] - now
                self._cond.wait(min(wait, WALL_CHECK) if self._calendars else wait)
            elif auto_stop and not self._in_flight:
                return None
            else:
                self._cond.wait(WALL_CHECK if self._calendars else None)
        return None

    def _take(self, now: float) -> Entry | None:
        """Claim the earliest entry due by ``now`` that is to run now; None if there is none."""
        heap = self._heap
        while heap and heap[0][0] <= now:
            key, _, entry = heapq.heappop(heap)
            if not entry.checked:
                return self._claim(entry, key)
            scheduled = self._admitted(entry, key, now)
            if scheduled is not None:
                return self._claim(entry, scheduled)
        return None

    def _admitted(self, entry: Entry, key: float, now: float) -> float | None:
        """A checked entry's due time if it runs now; else it is rescheduled (or stopped)."""
        scheduled, requeue = self._times.admit(entry, key, now)
        if requeue is not None:
            self._schedule(entry, requeue, entry.kind)
        elif scheduled is None:
            entry.stopped = True
        return scheduled

    def _claim(self, entry: Entry, scheduled: float) -> Entry:
        entry.scheduled = scheduled
        entry.active = True
        self._in_flight += 1
        return entry

    def _schedule_first(self, entries: Iterable[Entry], now: float) -> None:
        """Queue the first run of each entry (a plain one's is one spacing from ``now``)."""
        # The wall clock matters to calendar entries only (and keeps their offset current).
        wall = self._times.read() if self._calendars else 0.0
        heap = self._heap
        for entry in entries:
            if entry.plain and not entry.run_immediately:
                # _queued of a periodic run, written out for the common case.
                entry.kind = PERIODIC
                entry.fast = True
                heap.append((now + entry.period, entry.order, entry))
            elif entry.run_immediately:
                entry.anchor = entry.due_wall = wall
                heap.append(self._queued(entry, now, IMMEDIATE))
            elif (first := self._times.first(entry, now, wall)) is not None:
                heap.append(self._queued(entry, first, PERIODIC))
            else:
                entry.stopped = True
        heapq.heapify(heap)

    def _schedule(self, entry: Entry, when: float, kind: str) -> None:
        heapq.heappush(self._heap, self._queued(entry, when, kind))

    @staticmethod
    def _queued(entry: Entry, when: float, kind: str) -> tuple[float, int, Entry]:
        """The heap item of an entry's next run, of ``kind``, due at ``when``."""
        entry.kind = kind
        entry.fast = entry.plain and kind == PERIODIC
        return (when, entry.order, entry)

    def _submit(self, executor: concurrent.futures.Executor, submission: Submission) -> None:
        try:
            future = executor.submit(self._serve_submission, submission)
        except Exception as exc:
            # Refused (RejectedSubmission, an executor shut down by someone else, a broken
            # pool): a failed run, retried on a later cycle.
            now = self._now()
            self._finish(submission.entry, now, now, Failure(exc), claim_next=False)
            return
        if not submission.started:  # once started, _serve itself finishes every entry
            future.add_done_callback(functools.partial(self._on_submission_done, submission))

    def _on_submission_done(
        self, submission: Submission, future: concurrent.futures.Future[None]
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
        self._finish(entry, now, now, Failure(exc), claim_next=False)

    # Runs: in start()'s thread without an executor, else on the executor.

    def _serve_submission(self, submission: Submission) -> None:
        submission.started = True
        try:
            self._serve(submission.entry)
        except BaseException:
            # _serve recorded the exiting exception and stopped the worker; start() re-raises
            # it in its own thread. Raised here, it would only fail a future nobody reads.
            return

    def _serve(self, first: Entry) -> None:
        """Run ``first``, then every entry that is due by the time the last one returned.

        A plain entry's successful run -- the common case -- is recorded, pushed back and the
        next due entry claimed right here, in one lock hold and one heap step; everything else
        goes through :meth:`_finish`.
        """
        now, heap, pushpop = self._now, self._heap, heapq.heappushpop
        acquire, release, fixed_rate = self._acquire, self._release, self._fixed_rate
        entry: Entry | None = first
        while entry is not None:
            started = now()
            try:
                result = entry.call()
            except NeverAgain:
                entry = self._finish(entry, started, now(), never_again=True)
                continue
            except Exception as exc:
                entry = self._finish(entry, started, now(), Failure(exc))
                continue
            except BaseException as exc:
                # Exiting (SystemExit, KeyboardInterrupt, a killed green thread): _finish
                # records the run and stops the worker, so start() re-raises it.
                self._finish(entry, started, now(), Failure(exc))
                raise
            finished = now()
            if not entry.fast or result is not None:
                entry = self._finish(entry, started, finished, result=result)
                continue
            if fixed_rate:
                next_run = started + entry.period
            else:
                next_run = self._times.spaced(entry, started, finished)
            tally = entry.tally
            acquire()
            try:
                # Tally.record of a success, written out: this is the cost of every run. The
                # entry was claimed once due by an earlier read of now_func, so it waited
                # started - scheduled >= 0.
                tally.successes += 1
                tally.elapsed += finished - started
                tally.waiting += started - entry.scheduled
                if heap and self._accepting and heap[0][0] <= finished:
                    # Another entry is due: push this one and take the earliest in one heap
                    # step (this entry itself, if it is already due again).
                    key, _, claimed = pushpop(heap, (next_run, entry.order, entry))
                    entry.active = False
                    if claimed.checked:
                        entry = self._hand_over(claimed, key, finished)
                    else:
                        claimed.active = True
                        claimed.scheduled = key
                        entry = claimed
                else:
                    self._park(entry, next_run)
                    entry = None
            finally:
                release()

    def _hand_over(self, claimed: Entry, key: float, now: float) -> Entry | None:
        """After a plain run, the claimed due entry is a checked one: admit it or take another."""
        self._in_flight -= 1
        when = self._admitted(claimed, key, now)
        if when is not None:
            return self._claim(claimed, when)
        self._cond.notify_all()  # the heap's head may have changed
        return self._take(now)

    def _park(self, entry: Entry, next_run: float) -> None:
        """After a plain run, nothing else is due: push the entry back and wake who needs it."""
        heap = self._heap
        entry.active = False
        self._in_flight -= 1
        if self._accepting:
            heapq.heappush(heap, (next_run, entry.order, entry))
            if heap[0][2] is entry:
                self._cond.notify_all()  # the loop may sleep until a later deadline
        if not self._in_flight and (not self._accepting or not heap):
            self._cond.notify_all()  # the drain in _end_run, or an auto stop

    def _finish(
        self,
        entry: Entry,
        started: float,
        finished: float,
        failure: Failure | None = None,
        *,
        never_again: bool = False,
        claim_next: bool = True,
        result: object = None,
    ) -> Entry | None:
        """Record any other run, schedule the next one and claim the next due entry.

        Returns the claimed entry (only when ``claim_next``: ``_serve`` runs it), else None.
        """
        tally = entry.tally
        waited = started - entry.scheduled if started > entry.scheduled else 0.0
        if failure is not None:
            with self._guard:
                tally.record(finished - started, waited, True, False)
                if failure.exiting:  # the program wants out: stop, and start() re-raises it
                    if self._exiting is None:
                        self._exiting = failure.exc
                    self._stopping = True
                    self._accepting = False
                    self._cond.notify_all()
            self._report(entry, failure)
        next_run = (
            None
            if never_again
            else self._times.next_run(entry, started, finished, failure is not None, result)
        )
        heap = self._heap
        with self._guard:
            if failure is None:
                tally.record(finished - started, waited, False, never_again)
            entry.active = False
            self._in_flight -= 1
            if next_run is None:
                entry.stopped = True
            elif self._accepting:
                self._schedule(entry, next_run, PERIODIC)
                if claim_next and heap[0][0] <= finished:
                    claimed = self._take(finished)
                    if claimed is not None:
                        return claimed
                self._cond.notify_all()  # the loop may sleep until a later deadline
            if not self._in_flight and (not self._accepting or not heap):
                self._cond.notify_all()  # the drain in _end_run, or an auto stop
            return None

    def _report(self, entry: Entry, failure: Failure) -> None:
        work = entry.watcher.work
        if self._on_failure is None:
            self._log.error(
                "Failed to call %s %r (it runs %s)",
                entry.kind,
                work.name,
                describe_schedule(entry.watcher.schedule),
                exc_info=failure.exc_info,
            )
            return
        try:
            self._on_failure(
                work.callback, entry.kind, entry.period, failure.exc_info, traceback=failure.text
            )
        except Exception:
            self._log.exception("on_failure raised while reporting a failure of %s", work.name)

    def _end_run(
        self, executor: concurrent.futures.Executor | None, shutdown: bool
    ) -> BaseException | None:
        """Drain the runs in flight, shut the executor down, mark the worker not running.

        Returns (and forgets) what a callback raised that start() must re-raise. Only the
        thread running start() waits on the condition, so nothing is notified here.
        """
        with self._guard:
            self._accepting = False
            self._heap.clear()
            while self._in_flight:
                self._cond.wait()
        try:
            if executor is not None and shutdown:
                executor.shutdown(wait=True)
        finally:
            with self._guard:
                self._running = False
                exiting, self._exiting = self._exiting, None
            self._dead.set()
        return exiting
