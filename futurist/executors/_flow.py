"""Flow control shared by every kind: priorities, waiting for room, bounded drain, stopping calls.

An executor that never uses these pays nothing for them: its items stay plain
:class:`~futurist.executors.base.WorkItem` objects. The first prioritized submission, a
``wait_when_reached`` policy, or a kind that does not track its own items (a third-party kind)
gives the executor a :class:`Flow`, and from then on every accepted item is a
:class:`FlowWorkItem` that carries its priority and tells the flow when it leaves the backlog
(a waiting submitter may take its place) and when it ends (drain knows what is left)::

    submit --> [submit lock: check_and_reject]
                 wait_when_reached: backlog full? --> release the submit lock, wait for
                 Flow.left() (an item started) or shutdown --> take the lock, check again
           --> FlowWorkItem(priority) --> kind's queue, in priority order once one was used

Priorities follow Dask's convention: higher numbers run first, 0 is the default, and calls of one
priority start in submission order.
"""

from __future__ import annotations

import _thread
import collections
import concurrent.futures
import heapq
import itertools
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from futurist._eventlet import green_condition
from futurist._naming import callable_name
from futurist._seconds import seconds
from futurist.exceptions import CallStopped, RejectedSubmission, StopNotSupported
from futurist.executors.base import WorkItem

if TYPE_CHECKING:
    from futurist.executors.base import Executor

__all__ = [
    "Flow",
    "FlowWorkItem",
    "PriorityBacklog",
    "drain",
    "priority_of",
    "wait_for_room",
]

_T = TypeVar("_T")


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


class FlowWorkItem(WorkItem):
    """A work item that reports to its executor's :class:`Flow`: when it leaves the backlog
    (a waiting submitter may take its place) and when it ends."""

    __slots__ = ("flow",)

    def __init__(self, item: WorkItem, priority: int, flow: Flow) -> None:
        super().__init__(item.future, item.fn, item.args, item.kwargs, item.recorder)
        self.accepted = item.accepted
        self.context = item.context
        self.priority = priority
        self.flow = flow

    def run(self) -> None:
        flow = self.flow
        flow.left()
        if flow.tracked is None:
            WorkItem.run(self)
            return
        local = flow.local
        local.depth = getattr(local, "depth", 0) + 1
        try:
            WorkItem.run(self)
        finally:
            local.depth -= 1
            flow.ended(self)

    def start(self) -> bool:
        self.flow.left()
        started = super().start()
        if not started:
            self.flow.ended(self)
        return started

    def finish(self, result: Any, runtime: float) -> None:
        super().finish(result, runtime)
        self.flow.ended(self)

    def fail(
        self,
        exc: BaseException,
        runtime: float = 0.0,
        traceback: TracebackType | None = None,
    ) -> None:
        super().fail(exc, runtime, traceback)
        self.flow.ended(self)

    def cancel(self) -> bool:
        cancelled = super().cancel()
        if cancelled:
            self.flow.left()
            self.flow.ended(self)
        return cancelled


class Flow:
    """One executor's flow state: who waits for room, and (if asked) which items are not done.

    Its condition has a lock of its own (of the kind's flavour: green kinds get a green one), so
    items report to it from any worker without touching the submit lock.
    """

    __slots__ = ("_condition", "_generation", "_waiters", "local", "ranked", "reports", "tracked")

    def __init__(self, lock: Any, *, track: bool, waits: bool) -> None:
        native = isinstance(lock, _thread.LockType)
        self._condition: Any = threading.Condition(lock) if native else green_condition(lock)
        self._generation = 0
        self._waiters = 0
        self.tracked: set[FlowWorkItem] | None = set() if track else None
        """The accepted items not ended yet, for kinds that do not track their own."""
        self.local = threading.local()
        """``depth``: how many of this executor's calls the current thread is running."""
        self.reports = track or waits
        """Whether items report to this flow (else a flow only gives them priorities)."""
        self.ranked = False
        """Whether the kind was told to order its queue by priority (``_use_priorities``)."""

    def renewed(self, lock: Any) -> Flow:
        """A flow like this one on ``lock``, with nobody waiting and nothing tracked (for a
        forked child: the waiters and the items are the parent's)."""
        flow = Flow(lock, track=self.tracked is not None, waits=self.reports)
        flow.ranked = self.ranked
        return flow

    def running_here(self) -> bool:
        """Whether the current thread is running one of this executor's calls."""
        return getattr(self.local, "depth", 0) > 0

    def adopt(self, item: WorkItem, priority: int = 0) -> WorkItem:
        """The accepted ``item`` with its priority, reporting to this flow if it must."""
        if not self.reports:
            return item
        if isinstance(item, FlowWorkItem) and item.flow is self:
            # A delayed call handed over at its deadline was adopted when it was accepted.
            item.priority = priority
            return item
        flowing = FlowWorkItem(item, priority, self)
        if self.tracked is not None:
            with self._condition:
                self.tracked.add(flowing)
        return flowing

    def left(self) -> None:
        """An item left the backlog: wake the submitters waiting for room, if any."""
        if self._waiters:
            self.wake_all()

    def wake_all(self) -> None:
        """Wake every waiting submitter (an item left the backlog, or shutdown started)."""
        with self._condition:
            self._generation += 1
            self._condition.notify_all()

    def ended(self, item: FlowWorkItem) -> None:
        """An item reached its terminal state."""
        tracked = self.tracked
        if tracked is not None:
            with self._condition:
                tracked.discard(item)
                if not tracked:
                    self._condition.notify_all()

    def tracked_items(self) -> list[FlowWorkItem]:
        """A snapshot of the tracked items not ended yet."""
        with self._condition:
            return list(self.tracked or ())

    def wait_idle(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds until no tracked item is left; True if none is."""
        with self._condition:
            return bool(self._condition.wait_for(lambda: not self.tracked, timeout))

    def wait_for_room(self, submit_lock: Any, has_room: Callable[[], bool], timeout: float) -> bool:
        """With ``submit_lock`` held: True if ``has_room()``, else wait (lock released) for the
        next item to leave the backlog, a shutdown, or ``timeout``; False after a wait.

        Registering before looking means no departure between the look and the wait is missed.
        """
        with self._condition:
            self._waiters += 1
            generation = self._generation
        try:
            if has_room():
                return True
            submit_lock.release()
            try:
                with self._condition:
                    self._condition.wait_for(lambda: self._generation != generation, timeout)
            finally:
                submit_lock.acquire()
            return False
        finally:
            with self._condition:
                self._waiters -= 1


def wait_for_room(executor: Executor, max_backlog: int, timeout: float | None) -> None:
    """Wait, with the submit lock held as ``check_and_reject`` has it, until the backlog is
    below ``max_backlog``; ``RejectedSubmission`` past ``timeout`` or from the executor's own
    worker, ``RuntimeError`` if it shuts down meanwhile (unless the call was accepted before
    the shutdown: a delayed call at its deadline waits on, as the shutdown waits for it)."""
    flow = executor._flow
    if flow is None:
        raise RuntimeError(
            f"{type(executor).__name__} was built without room tracking: pass "
            "wait_when_reached(...) as its check_and_reject when it is built"
        )
    name = type(executor).__name__
    deadline = None if timeout is None else time.monotonic() + timeout

    def has_room() -> bool:
        return executor._backlog() < max_backlog

    if executor._in_own_worker():
        raise RejectedSubmission(
            f"{name} backlog is full ({executor._backlog()} calls queued, max_backlog is "
            f"{max_backlog}) and this submission comes from one of its own workers: waiting "
            "there for room could wait forever, so it is refused at once"
        )
    while not flow.wait_for_room(executor._submit_lock, has_room, _remaining(deadline)):
        if not executor.alive and not executor._admitting_accepted_call():
            raise RuntimeError(
                f"cannot schedule new futures after shutdown: {name} was shut down while this "
                "submission waited for room in its backlog"
            )
        if deadline is not None and time.monotonic() >= deadline:
            raise RejectedSubmission(
                f"{name} backlog is full: {executor._backlog()} calls queued, max_backlog is "
                f"{max_backlog}; no room came within the {timeout} s backlog timeout"
            )


def _remaining(deadline: float | None) -> float:
    if deadline is None:
        return threading.TIMEOUT_MAX
    return max(0.0, deadline - time.monotonic())


def stopped_error(item: WorkItem, why: str, error: type[CallStopped] = CallStopped) -> CallStopped:
    """The error a stopped call's future fails with (``error``, a kind's own subclass)."""
    return error(f"{callable_name(item.fn)} was stopped while it ran: {why}")


def cannot_stop(executor: Executor, what: str) -> StopNotSupported:
    """The refusal of a kind whose workers cannot be stopped from outside."""
    name = type(executor).__name__
    return StopNotSupported(
        f"{name} cannot {what}: its calls run in threads or green threads of this process, "
        "which cannot be interrupted safely. Cancel queued calls with future.cancel(), bound "
        "a shutdown with drain(timeout), or use a process or Dask executor to stop running calls",
        name,
    )


def drain(executor: Executor, timeout: object) -> set[concurrent.futures.Future[Any]]:
    """Shut ``executor`` down, waiting at most ``timeout`` seconds for its accepted calls.

    Past the deadline the queued calls are cancelled and the running ones stopped where the
    kind can. Returns the futures not finished at the deadline. From the executor's own
    machinery (a worker, or a done callback it runs) only ``drain(0)`` is allowed: waiting
    there would hold up what runs the calls waited for, as a submission waiting there for room
    would, so it is refused at once and changes nothing.
    """
    limit = seconds("timeout", timeout, zero=True, infinite=True)
    if limit > 0 and executor._in_own_worker():
        name = type(executor).__name__
        raise RuntimeError(
            f"cannot drain {name} with a timeout ({timeout} s) from one of its own workers or "
            "a done callback its machinery runs: waiting there would hold up what runs the "
            "calls it waits for. Call drain(0) there to cancel what is queued at once, or "
            "drain from another thread"
        )
    executor.shutdown(wait=False)
    if executor._wait_idle(limit):
        executor.shutdown(wait=True)
        return set()
    items = [*executor._cancel_queued(), *executor._running_items()]
    for item in items:
        if item.future.running():
            try:
                executor._stop_call(item.future)
            except StopNotSupported:
                break
    return {item.future for item in items if _lost(item.future)}


def _lost(future: concurrent.futures.Future[Any]) -> bool:
    """Whether a future seen unfinished at the deadline did not finish on its own since."""
    if not future.done() or future.cancelled():
        return True
    return isinstance(future.exception(), CallStopped)
