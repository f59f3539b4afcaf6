"""ThreadPoolExecutor: a pool of threads that reuses idle ones before starting another.

Data flow::

    submit --> [queue of WorkItem] --> worker threads (at most max_workers)
                      ^                      |
                      |                 idle count: raised after each item, claimed by
                      |                 the next submit so an idle thread is reused first
    shutdown --> one None sentinel; each worker passes it on and exits once the queue is drained
    max_workers = n --> more threads for queued work, or one retire token per surplus thread:
                        whichever worker takes a token (when it is next idle) exits
    first prioritized submit --> queued items move to a priority heap (the lane); from then on
                        every item goes to the lane and a pick token to the queue: the worker
                        taking a token runs the lane's best item

Workers hold the shared ``_PoolState``, never the executor, so an executor that is
garbage-collected without ``shutdown()`` still lets its threads drain the queue and exit.
"""

from __future__ import annotations

import collections
import itertools
import logging
import os
import queue
import threading
import time
import weakref
from collections.abc import Callable
from concurrent.futures.thread import BrokenThreadPool
from typing import TYPE_CHECKING, Any, ClassVar

from futurist.executors._flow import priority_of
from futurist.executors.base import (
    CheckAndReject,
    Executor,
    WorkItem,
    validate_initializer,
    validate_max_workers,
)

if TYPE_CHECKING:
    from oslo_config import cfg

__all__ = ["ThreadPoolExecutor", "default_thread_count"]

LOG = logging.getLogger(__name__)


class _Token:
    """A queue entry that is not work: one ``isinstance`` check tells them all apart."""

    __slots__ = ()


class _Retire(_Token):
    """The token telling the worker that takes it to exit (the pool was made smaller)."""

    __slots__ = ()


_RETIRE = _Retire()


class _Pick(_Token):
    """The token telling the worker that takes it to run the lane's best item."""

    __slots__ = ()


_PICK = _Pick()


class _Lanes:
    """The queued items of a pool that uses priorities: one FIFO deque per priority.

    Submissions append (under the submit lock); workers holding a pick token take from the
    highest non-empty lane without a lock: ``deque.append`` and ``popleft`` are atomic, and
    ``levels`` is replaced, never changed in place. Each token stands for one item appended
    before it, so a worker with a token always finds one (if another worker took the one it
    saw, it looks again). Empty lanes are dropped when a new priority appears, so priorities
    used once do not pile up.
    """

    __slots__ = ("by_priority", "levels")

    def __init__(self) -> None:
        self.by_priority: dict[int, collections.deque[WorkItem]] = {}
        self.levels: list[collections.deque[WorkItem]] = []
        """The lanes, highest priority first."""

    def push(self, item: WorkItem) -> None:
        """Queue ``item`` behind the others of its priority (with the submit lock held)."""
        priority = priority_of(item)
        lane = self.by_priority.get(priority)
        if lane is None:
            lane = collections.deque()
            kept = {key: old for key, old in self.by_priority.items() if old}
            kept[priority] = lane
            self.by_priority = kept
            self.levels = [kept[key] for key in sorted(kept, reverse=True)]
        lane.append(item)

    def pop(self) -> WorkItem:
        """Take the first item of the highest lane that has one (the caller holds a token)."""
        while True:
            for lane in self.levels:
                if lane:
                    try:
                        return lane.popleft()
                    except IndexError:
                        continue


class Slot:
    """What one worker runs now (None between items), so ``drain`` can name it."""

    __slots__ = ("item",)

    def __init__(self) -> None:
        self.item: WorkItem | None = None


def default_thread_count() -> int:
    """Default ``max_workers`` of thread pools: five threads per CPU."""
    return 5 * (os.cpu_count() or 1)


class _PoolState:
    """What the worker threads share: the queue, the idle count and whether the pool broke."""

    __slots__ = (
        "broken",
        "idle",
        "initargs",
        "initializer",
        "lane",
        "lock",
        "queue",
        "retiring",
        "slots",
    )

    def __init__(
        self, initializer: Callable[..., object] | None, initargs: tuple[Any, ...]
    ) -> None:
        self.queue: queue.SimpleQueue[WorkItem | _Token | None] = queue.SimpleQueue()
        self.lane: _Lanes | None = None
        """Queued items in priority order, once a priority was used."""
        self.slots: set[Slot] = set()
        self.idle = 0
        self.initializer = initializer
        self.initargs = initargs
        self.broken: str | None = None
        self.lock = threading.Lock()
        self.retiring = 0
        """Retire tokens still in the queue (they are not work, so not backlog)."""

    def retire(self, count: int) -> None:
        """Queue ``count`` retire tokens, each to stop one worker when it is next idle."""
        with self.lock:
            self.retiring += count
        for _ in range(count):
            self.queue.put(_RETIRE)

    def became_idle(self) -> None:
        """A worker finished an item and can take another."""
        with self.lock:
            self.idle += 1

    def take_idle(self) -> bool:
        """Claim an idle worker for a new item; False when none is idle."""
        with self.lock:
            if self.idle:
                self.idle -= 1
                return True
            return False

    def use_priorities(self) -> None:
        """Move the queued items to the lane, in order; from now on items go there."""
        if self.lane is not None:
            return
        items = self.drain()
        lanes = _Lanes()
        for item in items:
            lanes.push(item)
        self.lane = lanes
        for _ in items:
            self.queue.put(_PICK)

    def put_ranked(self, item: WorkItem) -> None:
        """Queue ``item`` in its lane, and a pick token for a worker."""
        self.lane.push(item)  # type: ignore[union-attr]
        self.queue.put(_PICK)

    def take_ranked(self) -> WorkItem:
        """The best queued item, for a worker that took a pick token."""
        return self.lane.pop()  # type: ignore[union-attr]

    def running(self) -> list[WorkItem]:
        """The items the workers run now."""
        return [item for slot in list(self.slots) if (item := slot.item) is not None]

    def enqueue(self, item: WorkItem) -> bool:
        """Queue ``item`` and claim an idle worker for it (True) unless none is idle.

        Raises ``BrokenThreadPool`` if the pool broke. The check and the put happen under the
        lock :meth:`break_pool` holds while it drains, so no item can slip in behind a drain.
        """
        with self.lock:
            if self.broken is not None:
                raise BrokenThreadPool(self.broken)
            if self.lane is None:
                self.queue.put(item)
            else:
                self.put_ranked(item)
            if self.idle:
                self.idle -= 1
                return True
            return False

    def withdraw(self, item: WorkItem) -> None:
        """Take ``item`` back out of the queue (no thread could be started to run it)."""
        with self.lock:
            for other in self.drain():
                if other is item:
                    continue
                if self.lane is None:
                    self.queue.put(other)
                else:
                    self.put_ranked(other)

    def drain(self) -> list[WorkItem]:
        """Take every queued item out of the queue (sentinels and retire tokens stay)."""
        items: list[WorkItem] = []
        tokens: list[_Token | None] = []
        while True:
            try:
                item = self.queue.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, _Pick):
                items.append(self.take_ranked())
            elif isinstance(item, WorkItem):
                items.append(item)
            else:
                tokens.append(item)
        for token in tokens:
            self.queue.put(token)
        return items

    def break_pool(self, reason: str) -> None:
        """Mark the pool unusable and fail everything still queued with ``BrokenThreadPool``."""
        with self.lock:
            self.broken = reason
            items = self.drain()
        for item in items:
            if item.start():
                item.fail(BrokenThreadPool(reason))


def run_initializer(state: _PoolState) -> bool:
    """Run the pool's initializer in a new worker; on failure break the pool and return False."""
    if state.initializer is None:
        return True
    try:
        state.initializer(*state.initargs)
    except BaseException:
        LOG.exception("thread pool initializer %r failed", state.initializer)
        state.break_pool(
            f"initializer {state.initializer!r} failed; the thread pool cannot run work"
        )
        return False
    return True


def _work(state: _PoolState) -> None:
    """A worker thread's loop: run queued items until the shutdown sentinel arrives."""
    if not run_initializer(state):
        return
    get = state.queue.get
    became_idle = state.became_idle
    slot = Slot()
    state.slots.add(slot)
    try:
        while True:
            item = get()
            if item is None:
                state.queue.put(None)
                return
            if isinstance(item, _Token):
                if item is _PICK:
                    item = state.lane.pop()  # type: ignore[union-attr]
                else:
                    with state.lock:
                        state.retiring -= 1
                    # Take back the idle credit this thread gave after its last item, if any.
                    state.take_idle()
                    return
            slot.item = item
            item.run()
            slot.item = item = None
            became_idle()
    finally:
        state.slots.discard(slot)


class ThreadPoolExecutor(Executor):
    """Runs calls on a pool of up to ``max_workers`` threads, gathering statistics.

    Idle threads are reused before a new one starts, so sequential work runs on one thread.
    ``thread_name_prefix``, ``initializer`` and ``initargs`` mean what they mean in
    :class:`concurrent.futures.ThreadPoolExecutor`; threads are named after the executor's
    ``name`` unless ``thread_name_prefix`` is given. Honours priorities; cannot stop a running
    call (``stop``, ``terminate_workers`` and ``kill_workers`` raise ``StopNotSupported``).
    """

    kind = "thread"
    _tracks_items: ClassVar[bool] = True

    def __init__(
        self,
        max_workers: int | None = None,
        check_and_reject: CheckAndReject | None = None,
        *,
        thread_name_prefix: str | None = "",
        initializer: Callable[..., object] | None = None,
        initargs: tuple[Any, ...] = (),
        name: str | None = None,
        log_unread_failures: bool = True,
        propagate_context: bool = False,
    ) -> None:
        max_workers = validate_max_workers(max_workers, default_thread_count())
        validate_initializer(initializer)
        if thread_name_prefix is not None and not isinstance(thread_name_prefix, str):
            raise TypeError(
                f"thread_name_prefix must be a str (or None), got {thread_name_prefix!r}"
            )
        super().__init__(
            check_and_reject,
            name=name,
            log_unread_failures=log_unread_failures,
            propagate_context=propagate_context,
        )
        self._max_workers = max_workers
        self._state = _PoolState(initializer, tuple(initargs))
        self._threads: set[threading.Thread] = set()
        self._thread_numbers = itertools.count()
        # Threads started minus threads told to retire: what the pool is heading to.
        self._worker_count = 0
        self._thread_name_prefix = thread_name_prefix or self.name
        self._sentinel_sent = False
        # Wake the workers if this executor is collected without shutdown().
        weakref.finalize(self, self._state.queue.put, None).atexit = False

    @classmethod
    def config_options(cls) -> list[cfg.Opt]:
        """The oslo.config options this kind reads, beyond the common ones."""
        from oslo_config import cfg

        return [
            cfg.StrOpt(
                "thread_name_prefix",
                default="",
                help="Prefix of the worker threads' names; empty means the class name and a "
                "pool number.",
            )
        ]

    @property
    def max_workers(self) -> int:
        """The most threads this pool runs at once; assign to resize the running pool.

        Growing starts threads at once for calls already queued; shrinking lets each surplus
        thread finish its current call and exit when it is next idle. Queued work is kept.
        """
        return self._max_workers

    @max_workers.setter
    def max_workers(self, value: int) -> None:
        value = validate_max_workers(value, self._max_workers)
        state = self._state
        with self._submit_lock:
            self._max_workers = value
            if self._shutdown_started or state.broken is not None:
                return
            surplus = self._worker_count - value
            if surplus > 0:
                state.retire(surplus)
                self._worker_count = value
            for _ in range(min(-surplus, self._backlog())):
                self._start_thread()

    @property
    def num_workers(self) -> int:
        """How many worker threads are alive now."""
        return sum(1 for thread in list(self._threads) if thread.is_alive())

    @property
    def queue_size(self) -> int:
        """How many submitted calls wait for a thread."""
        return self._backlog()

    def get_num_idle_workers(self) -> int:
        """How many worker threads are waiting for work."""
        return self._state.idle

    def _backlog(self) -> int:
        state = self._state
        # After shutdown the queue also holds the sentinel the workers pass on.
        return max(0, state.queue.qsize() - state.retiring - self._sentinel_sent)

    def _dispatch(self, item: WorkItem) -> bool:
        if not self._state.enqueue(item) and self._worker_count < self._max_workers:
            self._start_thread_for(item, self._worker_count)
        return False

    def _start_thread_for(self, item: WorkItem, workers: int) -> None:
        """Start a thread for the just-queued ``item``, or cope when it cannot start.

        With ``workers`` other threads running, one of them runs the item later; with none,
        the item is taken back and the error reaches the submitter, with nothing recorded.
        """
        try:
            self._start_thread()
        except Exception:
            if not workers:
                self._state.withdraw(item)
                raise
            LOG.warning(
                "%s could not start another worker thread; its %d running threads will run "
                "the queued work",
                self._thread_name_prefix,
                workers,
                exc_info=True,
            )

    def _start_thread(self) -> None:
        if len(self._threads) > self._worker_count:
            # Forget threads that retired when the pool was made smaller.
            self._threads = {thread for thread in self._threads if thread.is_alive()}
        thread = threading.Thread(
            name=f"{self._thread_name_prefix}_{next(self._thread_numbers)}",
            target=_work,
            args=(self._state,),
        )
        thread.start()
        self._threads.add(thread)
        self._worker_count += 1

    def _use_priorities(self) -> None:
        self._state.use_priorities()

    def _in_own_worker(self) -> bool:
        return threading.current_thread() in self._threads

    def _running_items(self) -> list[WorkItem]:
        return self._state.running()

    def _cancel_queued(self) -> list[WorkItem]:
        items = self._state.drain()
        return [item for item in items if item.cancel()]

    def _wait_idle(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        current = threading.current_thread()
        for thread in list(self._threads):
            if thread is not current:
                thread.join(max(0.0, deadline - time.monotonic()))
        return not self._state.running() and not self._backlog()

    def _stop(self, wait: bool, cancel_futures: bool) -> None:
        state = self._state
        if cancel_futures:
            self._cancel_queued()
        with self._submit_lock:
            if not self._sentinel_sent:
                self._sentinel_sent = True
                state.queue.put(None)
        if wait:
            current = threading.current_thread()
            for thread in list(self._threads):
                if thread is not current:
                    thread.join()
