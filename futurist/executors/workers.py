"""The worker side of an executor kind: the work items it is handed and what it must do with them.

This is the one module a kind's author reads besides
:class:`~futurist.executors.base.Executor`. The front,
``Executor``, keeps the contract every kind shares (argument checks, ``check_and_reject``,
statistics, metrics, priorities, waiting for room, ``drain``, ``stop``, context propagation,
unread failures) and talks to the kind only through :class:`Workers`::

    Executor.submit(fn)  --[lock: alive? check_and_reject(backlog())]--> WorkItem
                         --> workers.put(item)  (True: workers.hand_over(item), lock released)
    a worker:  item.run()          (or item.start() ... item.finish()/item.fail() elsewhere)
    Executor.shutdown    --> [cancel_queued()] --> close(wait)
    Executor.drain       --> close(False) --> wait_idle(t) --> cancel_queued(), running(), stop()

A kind subclasses :class:`Workers` (or :class:`StoppableWorkers` when it can stop running
calls), and its executor class passes an instance to ``Executor.__init__``. Queued items go out
in :func:`priority_of` order once ``use_priorities`` was called; :class:`PriorityBacklog` is a
ready-made queue for that.
"""

from __future__ import annotations

import abc
import collections
import contextvars
import heapq
import itertools
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from time import perf_counter
from types import TracebackType
from typing import Any

from futurist.futures import Future, UnreadFailure
from futurist.naming import callable_name
from futurist.statistics import FOLD_AT, StatisticsRecorder

__all__ = [
    "PriorityBacklog",
    "QueuedWorkers",
    "StoppableWorkers",
    "WorkItem",
    "Workers",
    "priority_of",
]

LOG = logging.getLogger(__name__)

_NO_KEYWORDS: dict[str, Any] = {}
"""The keywords of every call submitted without any (read only)."""

_START_NOT_COUNTED = "could not count the start of %s in the executor's statistics"
_RUN_NOT_COUNTED = "could not count the run of %s in the executor's statistics"


class WorkItem:
    """One accepted call: its future, the call itself, and the recorder that counts it.

    Every path that ends a work item (run, cancel, fail) goes through a method here, so each
    accepted future reaches exactly one terminal state and is counted exactly once. ``accepted``
    is when it was accepted (``perf_counter``), to measure its queue wait; ``context``, if set,
    is the context the call runs in. The recorder is kept on the future (``future._recorder``),
    which is how an executor tells its own futures from others (``Executor.stop``). ``kwargs``
    is to be read, never changed: calls without keywords share one empty dict, so a queued call
    keeps no dict of its own for the garbage collector to count.
    """

    __slots__ = ("accepted", "args", "context", "fn", "future", "kwargs", "priority")

    priority: int
    """Set only by a prioritized submission: read it as ``getattr(item, "priority", 0)``."""

    def __init__(
        self,
        future: Future[Any],
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        recorder: StatisticsRecorder,
    ) -> None:
        self.future = future
        self.fn = fn
        self.args = args
        self.kwargs = kwargs or _NO_KEYWORDS
        future._recorder = recorder
        self.context: contextvars.Context | None = None
        self.accepted = perf_counter()

    @property
    def recorder(self) -> StatisticsRecorder:
        """The statistics of the executor that accepted the call: they count it."""
        return self.future._recorder

    def run(self) -> None:
        """Run the call in this thread, unless its future was cancelled while it waited."""
        future = self.future
        recorder = future._recorder
        if not future.set_running_or_notify_cancel():
            recorder.record_cancelled()
            return
        started = perf_counter()
        # The guarded recordings of _record_start/_record_run, written out: this is every
        # call's hot path, and two calls fewer are about 5% of a synchronous submit. A call
        # that ran is counted by a bare append (record_success), folded here once its future
        # is set, so that its caller does not wait for the fold.
        try:
            recorder.record_start(started - self.accepted)
        except Exception:
            LOG.exception(_START_NOT_COUNTED, self)
        try:
            if self.context is not None:
                result = self.context.run(self.fn, *self.args, **self.kwargs)
            elif self.kwargs:
                result = self.fn(*self.args, **self.kwargs)
            else:
                # Without keywords the call need not copy an empty dict of them.
                result = self.fn(*self.args)
        except BaseException as exc:
            self._record_run(perf_counter() - started, True)
            self._set_failed(exc, exc.__traceback__)
        else:
            try:
                recorder.record_success(perf_counter() - started)
            except Exception:
                LOG.exception(_RUN_NOT_COUNTED, self)
            future.set_result(result)
            if len(recorder.runs) > FOLD_AT:
                recorder.fold()

    def start(self) -> bool:
        """Mark the future running for a kind that runs the call elsewhere.

        Returns False (and counts the item as cancelled) when the future was cancelled first.
        """
        if self.future.set_running_or_notify_cancel():
            self._record_start(perf_counter() - self.accepted)
            return True
        self._record_cancelled()
        return False

    def finish(self, result: Any, runtime: float) -> None:
        """Complete a started item whose call ran elsewhere for ``runtime`` seconds."""
        self._record_run(runtime, False)
        self.future.set_result(result)

    def fail(
        self,
        exc: BaseException,
        runtime: float = 0.0,
        traceback: TracebackType | None = None,
    ) -> None:
        """Fail a started item whose call raised (or could not run) after ``runtime`` seconds."""
        self._record_run(runtime, True)
        self._set_failed(exc, traceback or exc.__traceback__)

    def _set_failed(self, exc: BaseException, traceback: TracebackType | None) -> None:
        """Fail the future; if the executor says so, a failure nobody reads gets logged."""
        recorder = self.future._recorder
        if recorder.log_unread_failures:
            unread = UnreadFailure(recorder.name, self.fn, exc, traceback)
            self.future.set_failure(exc, traceback, unread)
        else:
            self.future.set_exception_info(exc, traceback)

    def cancel(self) -> bool:
        """Cancel an item that never started; returns False if it had already started."""
        future = self.future
        if not future.cancel():
            return False
        # Move the future to its final cancelled state so every waiter is woken.
        future.set_running_or_notify_cancel()
        self._record_cancelled()
        return True

    # A statistics update that fails must not keep the future from ending, nor kill the worker
    # ending it: it is logged, and the figures miss that one call.

    def _record_start(self, queue_wait: float) -> None:
        try:
            self.future._recorder.record_start(queue_wait)
        except Exception:
            LOG.exception(_START_NOT_COUNTED, self)

    def _record_run(self, runtime: float, failed: bool) -> None:
        try:
            self.future._recorder.record_run(runtime, failed)
        except Exception:
            LOG.exception(_RUN_NOT_COUNTED, self)

    def _record_cancelled(self) -> None:
        try:
            self.future._recorder.record_cancelled()
        except Exception:
            LOG.exception("could not count %s as cancelled in the executor's statistics", self)

    def __repr__(self) -> str:
        return f"<WorkItem {callable_name(self.fn)}>"


def priority_of(item: WorkItem) -> int:
    """The priority an item was submitted with (0 for a plain ``submit``)."""
    return getattr(item, "priority", 0)


class PriorityBacklog:
    """A stand-in for a kind's backlog deque that hands out items in priority order.

    ``append`` and ``popleft`` keep the deque's names, so a kind swaps its deque for one of
    these on the first prioritized submission and changes nothing else; higher priorities come
    out first, and items of one priority in the order they went in. One FIFO deque per
    priority and a heap of the priorities in use make both operations O(1) for the usual few
    levels, however long the backlog. Not thread-safe by itself: the kind guards it as it
    guarded its deque.
    """

    __slots__ = ("_buckets", "_keys", "_size")

    def __init__(self, items: Iterable[WorkItem] = ()) -> None:
        self._buckets: dict[int, collections.deque[WorkItem]] = {}
        self._keys: list[int] = []
        """The priorities in use, negated, as a heap: the first is the highest priority."""
        self._size = 0
        for item in items:
            self.append(item)

    @classmethod
    def of(cls, backlog: Iterable[WorkItem]) -> PriorityBacklog:
        """``backlog`` in priority order: itself if it already is a PriorityBacklog, else its
        items, in the order they went in. What a kind's ``use_priorities`` assigns to its
        backlog: ``self.queue = PriorityBacklog.of(self.queue)``."""
        return backlog if isinstance(backlog, cls) else cls(list(backlog))

    def append(self, item: WorkItem) -> None:
        """Queue ``item`` behind every item of its priority or higher."""
        key = -priority_of(item)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = collections.deque()
            heapq.heappush(self._keys, key)
        bucket.append(item)
        self._size += 1

    def popleft(self) -> WorkItem:
        """Take the item to start next; ``IndexError`` when empty, as a deque's."""
        if not self._size:
            raise IndexError("pop from an empty backlog")
        key = self._keys[0]
        bucket = self._buckets[key]
        item = bucket.popleft()
        if not bucket:
            heapq.heappop(self._keys)
            del self._buckets[key]
        self._size -= 1
        return item

    def remove(self, item: WorkItem) -> None:
        """Take ``item`` out wherever it is queued; ``ValueError`` if it is not, as a deque's."""
        key = -priority_of(item)
        bucket = self._buckets.get(key)
        if bucket is None:
            raise ValueError(f"{item!r} is not in the backlog")
        bucket.remove(item)
        if not bucket:
            self._keys.remove(key)
            heapq.heapify(self._keys)
            del self._buckets[key]
        self._size -= 1

    def clear(self) -> None:
        """Forget every item."""
        self._buckets.clear()
        self._keys.clear()
        self._size = 0

    def __iter__(self) -> Iterator[WorkItem]:
        """The items in the order they would be taken."""
        return itertools.chain.from_iterable(list(self._buckets[key]) for key in sorted(self._keys))

    def __len__(self) -> int:
        return self._size

    def __bool__(self) -> bool:
        return self._size > 0


class Workers(abc.ABC):
    """The worker side of a kind: where accepted calls wait, run and end.

    The executor calls ``put`` and ``use_priorities`` with ``lock`` held (the lock it holds
    while it admits a call), everything else without it. Every accepted item must reach exactly
    one terminal state through its own methods (``run``; or ``start`` then ``finish``/``fail``;
    or ``cancel``), whatever happens to the workers.
    """

    future_class: type[Future[Any]] = Future
    """The future class the executor gives each call (green kinds use ``GreenFuture``)."""
    runs_elsewhere: str = ""
    """Where calls run when not in this process (``"in other processes"``): ``map`` then sends
    ``chunksize`` calls at a time and ``propagate_context`` is refused. Empty: in this process."""
    wait_at_exit: bool = False
    """Whether the accepted calls must end before the interpreter exits (True where they only
    run while someone waits, as green threads, or where their cluster goes with it)."""

    def __init__(self, lock: Any = None) -> None:
        """``lock`` guards admission: green kinds pass a green lock; default a native one."""
        self.lock: Any = threading.Lock() if lock is None else lock

    @abc.abstractmethod
    def put(self, item: WorkItem) -> bool:
        """Queue ``item`` for a worker, or start one for it (with ``lock`` held).

        Raise to refuse it (the error reaches the submitter, nothing is recorded). Return True
        to have the executor call :meth:`hand_over` once the lock is released.
        """

    def hand_over(self, item: WorkItem) -> None:
        """Finish taking an item ``put`` returned True for, in the submitter's thread with the
        lock released; by default run it here (a kind that runs calls in the caller)."""
        item.run()

    @abc.abstractmethod
    def backlog(self) -> int:
        """How many accepted items wait for a worker: what ``check_and_reject`` sees."""

    def use_priorities(self) -> None:
        """From now on take queued items in priority order (with ``lock`` held).

        Called once, before the first prioritized item is put. By default priorities are
        ignored: a kind that runs each call at once has no queue to order.
        """
        return None

    @abc.abstractmethod
    def running(self) -> list[WorkItem]:
        """The items running now (``drain`` reports those it could not finish)."""

    @abc.abstractmethod
    def cancel_queued(self) -> list[WorkItem]:
        """Cancel every item not started yet; return those this cancelled."""

    @abc.abstractmethod
    def in_worker(self) -> bool:
        """Whether the calling thread is one of these workers, or runs the done callbacks of
        their calls (waiting there for room in the backlog, or in ``drain``, could wait for
        ever)."""

    @abc.abstractmethod
    def wait_idle(self, timeout: float) -> bool:
        """After :meth:`close`: wait up to ``timeout`` seconds for every accepted item to end;
        True if they all did."""

    @abc.abstractmethod
    def close(self, wait: bool) -> None:
        """Let the workers end once every accepted item has ended; with ``wait``, return only
        then. Called at every shutdown, so it must be idempotent."""

    def count(self) -> int:
        """How many workers (threads, processes, green threads) there are now; 0 by default,
        for a kind that runs calls in its callers."""
        return 0


class QueuedWorkers(Workers):
    """Workers whose accepted calls wait in ``queue``, oldest first, in priority order once
    the executor asks for it: ``backlog`` and ``use_priorities`` are done here."""

    def __init__(self, lock: Any = None) -> None:
        super().__init__(lock)
        self.queue: collections.deque[WorkItem] | PriorityBacklog = collections.deque()

    def backlog(self) -> int:
        return len(self.queue)

    def use_priorities(self) -> None:
        self.queue = PriorityBacklog.of(self.queue)


class StoppableWorkers(Workers):
    """Workers that can stop a running call: ``stop``, ``terminate_workers`` and
    ``kill_workers`` work on their executor (elsewhere they raise ``StopNotSupported``)."""

    @abc.abstractmethod
    def stop(self, future: Any) -> bool:
        """Cancel the queued call of ``future`` or stop it running (its future fails with a
        ``CallStopped``); False if these workers never held it."""

    @abc.abstractmethod
    def end(self, kill: bool) -> None:
        """The executor is shutting down with its queue cancelled: stop every running call
        (``kill``: at once, as SIGKILL would; else as SIGTERM would)."""
