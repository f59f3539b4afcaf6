"""Delayed submission: ``submit_after(delay, fn, ...)`` for any executor kind, as a mixin.

Mix one in before the executor class (``class X(DelayedExecutorMixin, ThreadPoolExecutor)``).
Data flow::

    submit_after --> [submit lock: alive? check_and_reject] --> WorkItem
                 --> heap of (deadline, seq, entry)  <-- one scheduler thread (a green thread for
                                                        the green mixin), started on first use,
                                                        sleeps until the earliest deadline
    deadline reached --> the executor's own _dispatch(item), as if submitted just then
    future.cancel() while waiting --> the entry leaves the heap, the item counts as cancelled

The work item exists from ``submit_after`` on, so the returned future is the one the executor
finishes, failures land in the executor's statistics, and shutdown can cancel or wait for
pending delayed work. The scheduler exits when its heap is empty and starts again on the next
``submit_after``; while items are pending it keeps the executor alive.
"""

from __future__ import annotations

import abc
import functools
import heapq
import itertools
import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from futurist._eventlet import eventlet_module, green_condition
from futurist.executors.base import Executor, WorkItem
from futurist.futures import Future

__all__ = ["DelayedExecutorMixin", "DelayedExecutorMixinBase", "GreenDelayedExecutorMixin"]

LOG = logging.getLogger(__name__)

_T = TypeVar("_T")

_PENDING, _HANDED_OFF, _CANCELLED = "pending", "handed off", "cancelled"


class _Entry:
    """One delayed item and where it is: still pending, handed to the executor, or cancelled."""

    __slots__ = ("item", "state")

    def __init__(self, item: WorkItem) -> None:
        self.item = item
        self.state = _PENDING


class _Scheduler:
    """A heap of deadlines and the one thread that hands each item over when it is due.

    ``condition`` guards the heap and wakes the thread (a native or a green condition);
    ``spawn`` starts the thread, ``current`` names the calling thread, ``clock`` tells the time
    and ``hand_off`` gives a due item to the executor.
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

    def add(self, item: WorkItem, delay: float) -> None:
        """Schedule ``item`` to be handed off ``delay`` seconds from now."""
        entry = _Entry(item)
        with self._condition:
            deadline = self._clock() + delay
            heapq.heappush(self._heap, (deadline, next(self._sequence), entry))
            if not self._running:
                self._running = True
                self._spawn(self._run)
            else:
                # Let the scheduler recompute its sleep: the new item may be due first.
                self._condition.notify()
        item.future.add_done_callback(functools.partial(self._forget_cancelled, entry))

    def cancel_all(self) -> None:
        """Cancel every pending item at once (``shutdown(cancel_futures=True)``)."""
        with self._condition:
            entries = [entry for _, _, entry in self._heap if entry.state is _PENDING]
            for entry in entries:
                entry.state = _CANCELLED
            self._condition.notify()
        for entry in entries:
            entry.item.cancel()

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
        entry.item.cancel()

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
                return entry.item
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
            self._hand_off(item)
            del item
        if later is not None:
            later()


def _validate_delay(delay: object) -> float:
    """Return ``delay`` as seconds, or raise ``TypeError``/``ValueError`` naming it."""
    if isinstance(delay, bool) or not isinstance(delay, int | float):
        raise TypeError(
            f"delay must be a number of seconds (int or float), got {type(delay).__name__} "
            f"{delay!r}"
        )
    if not math.isfinite(delay) or delay < 0:
        raise ValueError(f"delay must be a finite number of seconds >= 0, got {delay!r}")
    return float(delay)


class DelayedExecutorMixinBase(Executor):
    """Adds ``submit_after`` to an executor; subclasses choose native or green scheduling.

    Delayed items are accepted at once (``check_and_reject`` runs then; they are not part of
    the backlog while they wait) and handed to the executor at their deadline.
    ``shutdown(wait=True)`` waits for them to run at their deadlines;
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
        raises.
        """
        if not callable(fn):
            raise TypeError(f"submit_after() needs a callable, got {type(fn).__name__} {fn!r}")
        seconds = _validate_delay(delay)
        with self._submit_lock:
            item = self._accept(fn, args, kwargs)
            scheduler = self._delay_scheduler
            if scheduler is None:
                scheduler = self._delay_scheduler = self._new_delay_scheduler()
            scheduler.add(item, seconds)
        return item.future

    def _delay_clock(self) -> float:
        """The clock deadlines are measured on (monotonic); tests may override it."""
        return time.monotonic()

    @abc.abstractmethod
    def _new_delay_scheduler(self) -> _Scheduler:
        """Build this executor's scheduler (native thread or green thread)."""

    def _hand_off_delayed(self, item: WorkItem) -> None:
        """Give a due item to the executor as a submission would.

        If the executor refuses it (a broken pool) or running it here raises, the item fails
        with that error, so the scheduler keeps serving the others. Its queue wait starts now,
        not at submission: the delay was asked for.
        """
        item.accepted = time.perf_counter()
        try:
            with self._submit_lock:
                run_here = self._dispatch(item)
            if run_here:
                self._run_here(item)
        except Exception as exc:
            future = item.future
            if future.running():
                item.fail(exc)
            elif not future.done():
                if item.start():
                    item.fail(exc)
            else:
                LOG.exception("handing off delayed call %r failed after it was done", item.fn)

    def _stop(self, wait: bool, cancel_futures: bool) -> None:
        # The executor class this is mixed into implements _stop; mypy only sees the abstract one.
        stop_executor = super()._stop  # type: ignore[safe-super]
        scheduler = self._delay_scheduler
        if scheduler is None:
            stop_executor(wait, cancel_futures)
            return
        if cancel_futures:
            scheduler.cancel_all()
        # The executor may stop only once every pending item has been handed to it.
        if scheduler.drained_or_defer(
            wait, functools.partial(stop_executor, False, cancel_futures)
        ):
            stop_executor(wait, cancel_futures)

    def _on_interpreter_exit(self) -> None:
        scheduler = self._delay_scheduler
        if scheduler is not None:
            scheduler.cancel_all()
        super()._on_interpreter_exit()


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
