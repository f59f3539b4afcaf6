"""Delayed submission: ``submit_after(delay, fn, ...)`` for any executor kind, as a mixin.

Mix one in before the executor class (``class X(DelayedExecutorMixin, ThreadPoolExecutor)``).
Data flow::

    submit_after --> [submit lock: alive? check_and_reject] --> WorkItem (the delayed future)
                 --> heap of (deadline, seq, entry)  <-- one scheduler thread (a green thread for
                                                        the green mixin), started on first use,
                                                        sleeps until the earliest deadline
    deadline reached --> self.submit(fn, *args, **kwargs), as if submitted just then; the
                         scheduler's hand-off lets that submission in (even after shutdown
                         started) and gives it the delayed future
        submit raises --> the delayed future fails with that exception
        submit returns another future (an override that did not submit here)
                     --> the delayed future follows it
    future.cancel() while waiting --> the entry leaves the heap, the item counts as cancelled

Delayed calls go through the executor's own ``submit``, so an override of it (a subclass, a
guard such as the process pool's against use from a forked child) sees them as any other call.
The future ``submit_after`` returns is the one the executor finishes, so cancelling it, its
result and the statistics work as for a plain submission, and each call is counted once.
Shutdown can cancel or wait for pending delayed work. The scheduler exits when its heap is
empty and starts again on the next ``submit_after``; while items are pending it keeps the
executor alive.
"""

from __future__ import annotations

import abc
import concurrent.futures
import functools
import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from futurist._eventlet import eventlet_module, green_condition
from futurist._seconds import seconds
from futurist.executors.base import Executor, PrioritizedSubmitter
from futurist.executors.workers import StoppableWorkers, Workers, WorkItem, priority_of
from futurist.futures import Future

__all__ = [
    "DelayedExecutorMixin",
    "DelayedExecutorMixinBase",
    "GreenDelayedExecutorMixin",
    "PrioritizedDelayedSubmitter",
]

LOG = logging.getLogger(__name__)

_T = TypeVar("_T")

_PENDING, _HANDED_OFF, _CANCELLED = "pending", "handed off", "cancelled"


class _Entry:
    """One delayed item and where it is: still pending, handed to the executor, or cancelled.

    The entry lets go of its item when handing it off: the future's done callback keeps the
    entry, and must not keep the call's arguments (nor the future itself) alive.
    """

    __slots__ = ("item", "state")

    def __init__(self, item: WorkItem) -> None:
        self.item: WorkItem | None = item
        self.state = _PENDING


class _Scheduler:
    """A heap of deadlines and the one thread that hands each item over when it is due.

    ``condition`` guards the heap and wakes the thread (a native or a green condition);
    ``spawn`` starts the thread, ``current`` names the calling thread, ``clock`` tells the time
    and ``hand_off`` gives a due item to the executor. While ``hand_off`` runs, the item is
    offered to the executor's admission in the scheduler thread (:meth:`take_offer`).
    """

    def __init__(
        self,
        condition: Any,
        spawn: Callable[[Callable[[], None]], object],
        current: Callable[[], object],
        clock: Callable[[], float],
        hand_off: Callable[[WorkItem], None],
    ) -> None:
        self._condition = condition
        self._spawn = spawn
        self._current = current
        self._clock = clock
        self._hand_off = hand_off
        self._heap: list[tuple[float, int, _Entry]] = []
        self._sequence = itertools.count()
        self._runner: object | None = None
        self._running = False
        self._after_drain: Callable[[], None] | None = None
        self._offer: tuple[object, WorkItem] | None = None
        self._admitting = False
        """Set while the scheduler thread runs ``check_and_reject`` for a due item."""

    def take_offer(self) -> WorkItem | None:
        """The item the calling thread is handing off, once; None in any other thread."""
        offer = self._offer
        if offer is None or offer[0] != self._current():
            return None
        self._offer = None
        return offer[1]

    def admit(self, check: Callable[[], None]) -> None:
        """Run ``check`` (``check_and_reject`` for a due item) in the scheduler thread, telling
        :meth:`admitting_here` so meanwhile."""
        self._admitting = True
        try:
            check()
        finally:
            self._admitting = False

    def admitting_here(self) -> bool:
        """Whether the calling thread is the scheduler, admitting a due item."""
        return self._admitting and self._runner == self._current()

    def add(self, item: WorkItem, delay: float) -> None:
        """Schedule ``item`` to be handed off ``delay`` seconds from now."""
        entry = _Entry(item)
        with self._condition:
            if not self._running:
                # Started first: if it cannot start, nothing is pending and the error reaches
                # the submitter. It waits for the condition held here, so it sees the entry.
                self._spawn(self._run)
                self._running = True
            else:
                # Let the scheduler recompute its sleep: the new item may be due first.
                self._condition.notify()
            deadline = self._clock() + delay
            heapq.heappush(self._heap, (deadline, next(self._sequence), entry))
        item.future._add_machinery_callback(functools.partial(self._forget_cancelled, entry))

    def cancel_all(self) -> list[WorkItem]:
        """Cancel every pending item at once (``shutdown(cancel_futures=True)``); return them."""
        with self._condition:
            entries = [entry for _, _, entry in self._heap if entry.state is _PENDING]
            for entry in entries:
                entry.state = _CANCELLED
            self._condition.notify()
        return [item for entry in entries if (item := _cancel_waiting(entry)) is not None]

    def wait_drained(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds until nothing is pending; True if nothing is."""
        with self._condition:
            if self._runner == self._current():
                return not self._running
            return bool(self._condition.wait_for(lambda: not self._running, timeout))

    def drained_or_defer(self, wait: bool, later: Callable[[], None]) -> bool:
        """True once nothing is pending (waiting for that if ``wait``); else run ``later`` then.

        The scheduler thread itself cannot wait for its own drain, so from there (or without
        ``wait``) ``later`` is run by the scheduler thread as it exits.
        """
        with self._condition:
            if not self._running:
                return True
            if wait and self._runner != self._current():
                self._condition.wait_for(lambda: not self._running)
                return True
            if self._after_drain is None:
                self._after_drain = later
            return False

    def _forget_cancelled(self, entry: _Entry, future: Future[Any]) -> None:
        """Done callback: a future cancelled while pending leaves the heap and counts as such."""
        if not future.cancelled():
            return
        with self._condition:
            if entry.state is not _PENDING:
                return
            entry.state = _CANCELLED
            self._condition.notify()
        _cancel_waiting(entry)

    def _next_due(self) -> WorkItem | None:
        """Wait until the earliest pending item is due and take it; None once the heap is empty."""
        heap = self._heap
        while True:
            while heap and heap[0][2].state is not _PENDING:
                heapq.heappop(heap)
            if not heap:
                return None
            deadline, _, entry = heap[0]
            remaining = deadline - self._clock()
            if remaining <= 0:
                heapq.heappop(heap)
                entry.state = _HANDED_OFF
                item, entry.item = entry.item, None
                return item
            self._condition.wait(remaining)

    def _run(self) -> None:
        """The scheduler thread: hand items over as they fall due, exit when none is left."""
        condition = self._condition
        with condition:
            self._runner = self._current()
        while True:
            with condition:
                item = self._next_due()
                if item is None:
                    self._running = False
                    self._runner = None
                    later, self._after_drain = self._after_drain, None
                    condition.notify_all()
                    break
            self._offer = (self._runner, item)
            try:
                self._hand_off(item)
            finally:
                self._offer = None
            del item
        if later is not None:
            later()


def _cancel_waiting(entry: _Entry) -> WorkItem | None:
    """Cancel the item of an entry that was still pending (it counts as cancelled).

    Returns the item if this cancelled it (None if its future was already cancelled).
    """
    item = entry.item
    assert item is not None, "a pending entry always holds its item"
    return item if item.cancel() else None


class _DelayedWorkers(Workers):
    """A kind's workers, with the calls still waiting for their deadline in front of them.

    Cancelling the queue cancels the waiting calls too; waiting for the workers to be idle
    waits for those calls to be handed over first; the workers close once every waiting call
    has been handed to them.
    """

    def __init__(self, inner: Workers, scheduler: _Scheduler) -> None:
        super().__init__(inner.lock)
        self.inner = inner
        self.scheduler = scheduler
        self.future_class = inner.future_class
        self.runs_elsewhere = inner.runs_elsewhere
        self.wait_at_exit = inner.wait_at_exit
        self._cancelling = False

    # What the kind's workers do unchanged.

    def put(self, item: WorkItem) -> bool:
        return self.inner.put(item)

    def hand_over(self, item: WorkItem) -> None:
        self.inner.hand_over(item)

    def backlog(self) -> int:
        return self.inner.backlog()

    def use_priorities(self) -> None:
        self.inner.use_priorities()

    def running(self) -> list[WorkItem]:
        return self.inner.running()

    def in_worker(self) -> bool:
        return self.inner.in_worker()

    def count(self) -> int:
        return self.inner.count()

    # What the waiting calls change.

    def cancel_queued(self) -> list[WorkItem]:
        self._cancelling = True
        return [*self.scheduler.cancel_all(), *self.inner.cancel_queued()]

    def wait_idle(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        if not self.scheduler.wait_drained(timeout):
            return False
        return self.inner.wait_idle(max(0.0, deadline - time.monotonic()))

    def close(self, wait: bool) -> None:
        # The workers may close only once every waiting call has been handed to them.
        if self.scheduler.drained_or_defer(wait, self._close_later):
            self.inner.close(wait)

    def _close_later(self) -> None:
        """Close the workers once the scheduler has handed over its last call."""
        if self._cancelling:
            self.inner.cancel_queued()
        self.inner.close(False)


class _StoppableDelayedWorkers(_DelayedWorkers, StoppableWorkers):
    """Delayed calls in front of workers that can stop calls. A call still waiting for its
    deadline is not the kind's: ``stop()`` cancels it, and the scheduler forgets it."""

    inner: StoppableWorkers

    def stop(self, future: Any) -> bool:
        return self.inner.stop(future)

    def end(self, kill: bool) -> None:
        self.inner.end(kill)


def _with_delayed(workers: Workers, scheduler: _Scheduler) -> Workers:
    """``workers`` with ``scheduler``'s waiting calls in front of them."""
    if isinstance(workers, StoppableWorkers):
        return _StoppableDelayedWorkers(workers, scheduler)
    return _DelayedWorkers(workers, scheduler)


class DelayedExecutorMixinBase(Executor):
    """Adds ``submit_after`` to an executor; subclasses choose native or green scheduling.

    Delayed items are accepted at once (``check_and_reject`` runs then; they are not part of
    the backlog while they wait) and given to the executor's own ``submit`` at their deadline
    (``check_and_reject`` runs again then). ``shutdown(wait=True)`` waits for them to run at
    their deadlines;
    ``shutdown(cancel_futures=True)`` cancels them at once; at interpreter exit they are
    cancelled, so a long delay never holds the process.
    """

    _delay_scheduler: _Scheduler | None = None

    def submit_after(
        self, delay: float, fn: Callable[..., _T], /, *args: Any, **kwargs: Any
    ) -> Future[_T]:
        """Schedule ``fn(*args, **kwargs)`` to be submitted ``delay`` seconds from now.

        Returns the future of its result, which may be cancelled while it waits. Raises
        ``TypeError`` for a non-callable ``fn`` or a non-number ``delay``, ``ValueError`` for a
        negative ``delay``, ``RuntimeError`` after shutdown, and whatever ``check_and_reject``
        raises. If ``submit`` raises when the delay has elapsed, the future fails with that.
        """
        return self._submit_after(delay, fn, args, kwargs, None)

    def prioritized(self, priority: int) -> PrioritizedDelayedSubmitter:
        """A submitter whose ``submit`` and ``submit_after`` give their calls ``priority``.

        A delayed call keeps its priority until its deadline, when it is handed to the
        executor's queue with it.
        """
        return PrioritizedDelayedSubmitter(self, priority)

    def _submit_after(
        self,
        delay: float,
        fn: Callable[..., _T],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        priority: int | None,
    ) -> Future[_T]:
        if not callable(fn):
            raise TypeError(f"submit_after() needs a callable, got {type(fn).__name__} {fn!r}")
        delay = seconds("delay", delay, zero=True)
        with self._submit_lock:
            item = self._accept(fn, args, kwargs)
            if priority is not None:
                item = self._adopt_prioritized(item, priority)
            elif self._flow is not None:
                item = self._flow.adopt(item)
            scheduler = self._delay_scheduler
            if scheduler is None:
                scheduler = self._delay_scheduler = self._new_delay_scheduler()
                self._workers = _with_delayed(self._workers, scheduler)
            scheduler.add(item, delay)
        return item.future

    def _delay_clock(self) -> float:
        """The clock deadlines are measured on (monotonic); tests may override it."""
        return time.monotonic()

    @abc.abstractmethod
    def _new_delay_scheduler(self) -> _Scheduler:
        """Build this executor's scheduler (native thread or green thread)."""

    def _accept(
        self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> WorkItem:
        scheduler = self._delay_scheduler
        due = None if scheduler is None else scheduler.take_offer()
        if scheduler is None or due is None:
            return super()._accept(fn, args, kwargs)
        # The scheduler's submit() of a due item: accepted before any shutdown began, so only
        # check_and_reject may refuse it now. The item itself goes on (the future submit_after
        # returned, its priority), with the call as this submit() was given it.
        check_and_reject = self._check_and_reject
        if check_and_reject is not None:
            scheduler.admit(lambda: check_and_reject(self, self._workers.backlog()))
        due.fn, due.args, due.kwargs = fn, args, kwargs
        return due

    def _admitting_accepted_call(self) -> bool:
        scheduler = self._delay_scheduler
        return scheduler is not None and scheduler.admitting_here()

    def _hand_off_delayed(self, item: WorkItem) -> None:
        """Give a due item to the executor's own ``submit``, as a caller would.

        If ``submit`` raises (a rejection, a broken pool, an override refusing it), the item
        fails with that error, so the scheduler keeps serving the others.
        Its queue wait starts then, not at ``submit_after``: the delay was asked for.
        """
        item.accepted = time.perf_counter()
        try:
            # Priority 0 is a plain submission's: keep those on submit() itself.
            priority = priority_of(item)
            submitter = self if priority == 0 else self.prioritized(priority)
            submitted = submitter.submit(item.fn, *item.args, **item.kwargs)
        except Exception as exc:
            _fail_unfinished(item, exc)
            return
        if submitted is not item.future:
            _follow(item, submitted)

    def _renew_after_fork(self, workers: Workers | None = None) -> bool:
        # The scheduler thread and the calls waiting for their deadlines are the parent's.
        self._delay_scheduler = None
        if isinstance(self._workers, _DelayedWorkers):
            self._workers = self._workers.inner
        return super()._renew_after_fork(workers)

    def _on_interpreter_exit(self) -> None:
        scheduler = self._delay_scheduler
        if scheduler is not None:
            scheduler.cancel_all()
        super()._on_interpreter_exit()


def _fail_unfinished(item: WorkItem, exc: Exception) -> None:
    """Fail ``item`` with ``exc`` unless it has already ended (then only log ``exc``)."""
    future = item.future
    if future.running():
        item.fail(exc)
    elif not future.done():
        if item.start():
            item.fail(exc)
    else:
        LOG.exception("handing off delayed call %r failed after it was done", item.fn)


def _follow(item: WorkItem, other: concurrent.futures.Future[Any]) -> None:
    """Settle ``item`` as ``other`` settles; cancelling ``item``'s future cancels ``other``.

    For a ``submit`` override that returned a future of its own instead of submitting here.
    """
    item.future._add_machinery_callback(functools.partial(_cancel_other, other))
    other.add_done_callback(functools.partial(_settle_like, item))


def _cancel_other(other: concurrent.futures.Future[Any], future: Future[Any]) -> None:
    """Done callback of the delayed future: its cancellation reaches ``other``."""
    if future.cancelled():
        other.cancel()


def _settle_like(item: WorkItem, other: concurrent.futures.Future[Any]) -> None:
    """Done callback of ``other``: end ``item`` the same way (counted once, here)."""
    if other.cancelled():
        item.cancel()
    elif item.start():
        exc = other.exception()
        if exc is None:
            item.finish(other.result(), 0.0)
        else:
            item.fail(exc)


def _start_thread(name: str, target: Callable[[], None]) -> None:
    threading.Thread(target=target, name=name).start()


class DelayedExecutorMixin(DelayedExecutorMixinBase):
    """``submit_after`` with a native scheduler thread; for thread, process and sync executors."""

    def _new_delay_scheduler(self) -> _Scheduler:
        name = f"{type(self).__name__}-{id(self):#x}-delayed"
        return _Scheduler(
            threading.Condition(),
            functools.partial(_start_thread, name),
            threading.get_ident,
            self._delay_clock,
            self._hand_off_delayed,
        )


class GreenDelayedExecutorMixin(DelayedExecutorMixinBase):
    """``submit_after`` with a green scheduler thread; for green executors (needs eventlet)."""

    def _new_delay_scheduler(self) -> _Scheduler:
        eventlet = eventlet_module()
        return _Scheduler(
            green_condition(),
            eventlet.spawn_n,
            eventlet.getcurrent,
            self._delay_clock,
            self._hand_off_delayed,
        )


class PrioritizedDelayedSubmitter(PrioritizedSubmitter):
    """``prioritized(priority)`` of a delayed executor: ``submit`` and ``submit_after``."""

    __slots__ = ()

    executor: DelayedExecutorMixinBase

    def submit_after(
        self, delay: float, fn: Callable[..., _T], /, *args: Any, **kwargs: Any
    ) -> Future[_T]:
        """Schedule ``fn(*args, **kwargs)`` with this priority, ``delay`` seconds from now."""
        return self.executor._submit_after(delay, fn, args, kwargs, self.priority)
