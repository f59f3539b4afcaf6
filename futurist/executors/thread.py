"""ThreadPoolExecutor: a pool of threads that reuses idle ones before starting another.

Data flow::

    submit --> [queue of WorkItem] --> worker threads (at most max_workers)
                      ^                      |
                      |                 idle count: raised after each item, claimed by
                      |                 the next submit so an idle thread is reused first
    shutdown --> one None sentinel; each worker passes it on and exits once the queue is drained

Workers hold the shared :class:`_PoolState`, never the executor, so an executor that is
garbage-collected without ``shutdown()`` still lets its threads drain the queue and exit.
"""

from __future__ import annotations

import itertools
import logging
import os
import queue
import threading
import weakref
from collections.abc import Callable
from concurrent.futures.thread import BrokenThreadPool
from typing import Any

from futurist.executors.base import CheckAndReject, Executor, WorkItem, validate_max_workers

__all__ = ["ThreadPoolExecutor", "default_thread_count"]

LOG = logging.getLogger(__name__)

_pool_numbers = itertools.count()


def default_thread_count() -> int:
    """Default ``max_workers`` of thread pools: five threads per CPU."""
    return 5 * (os.cpu_count() or 1)


class _PoolState:
    """What the worker threads share: the queue, the idle count and whether the pool broke."""

    __slots__ = ("broken", "idle", "idle_lock", "initargs", "initializer", "queue")

    def __init__(
        self, initializer: Callable[..., object] | None, initargs: tuple[Any, ...]
    ) -> None:
        self.queue: queue.SimpleQueue[WorkItem | None] = queue.SimpleQueue()
        self.idle = 0
        self.idle_lock = threading.Lock()
        self.initializer = initializer
        self.initargs = initargs
        self.broken: str | None = None

    def became_idle(self) -> None:
        """A worker finished an item and can take another."""
        with self.idle_lock:
            self.idle += 1

    def take_idle(self) -> bool:
        """Claim an idle worker for a new item; False when none is idle."""
        with self.idle_lock:
            if self.idle:
                self.idle -= 1
                return True
            return False

    def drain(self) -> list[WorkItem]:
        """Take every queued item out of the queue (sentinels stay)."""
        items: list[WorkItem] = []
        sentinels = 0
        while True:
            try:
                item = self.queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                sentinels += 1
            else:
                items.append(item)
        for _ in range(sentinels):
            self.queue.put(None)
        return items

    def break_pool(self, reason: str) -> None:
        """Mark the pool unusable and fail everything still queued with ``BrokenThreadPool``."""
        self.broken = reason
        for item in self.drain():
            if item.start():
                item.fail(BrokenThreadPool(reason))


def _work(state: _PoolState, idle_timeout: float | None = None) -> bool:
    """A worker thread's loop; returns True if it retired after ``idle_timeout`` idle seconds."""
    if state.initializer is not None:
        try:
            state.initializer(*state.initargs)
        except BaseException:
            LOG.exception("thread pool initializer %r failed", state.initializer)
            state.break_pool(
                f"initializer {state.initializer!r} failed; the thread pool cannot run work"
            )
            return False
    get = state.queue.get
    became_idle = state.became_idle
    while True:
        try:
            item = get(timeout=idle_timeout)
        except queue.Empty:
            return True
        if item is None:
            state.queue.put(None)
            return False
        item.run()
        del item
        became_idle()


class ThreadPoolExecutor(Executor):
    """Runs calls on a pool of up to ``max_workers`` threads, gathering statistics.

    Idle threads are reused before a new one starts, so sequential work runs on one thread.
    ``thread_name_prefix``, ``initializer`` and ``initargs`` mean what they mean in
    :class:`concurrent.futures.ThreadPoolExecutor`.
    """

    def __init__(
        self,
        max_workers: int | None = None,
        check_and_reject: CheckAndReject | None = None,
        *,
        thread_name_prefix: str = "",
        initializer: Callable[..., object] | None = None,
        initargs: tuple[Any, ...] = (),
    ) -> None:
        max_workers = validate_max_workers(max_workers, default_thread_count())
        if initializer is not None and not callable(initializer):
            raise TypeError(f"initializer must be callable or None, got {initializer!r}")
        if not isinstance(thread_name_prefix, str):
            raise TypeError(f"thread_name_prefix must be a str, got {thread_name_prefix!r}")
        super().__init__(check_and_reject)
        self._max_workers = max_workers
        self._state = _PoolState(initializer, tuple(initargs))
        self._threads: set[threading.Thread] = set()
        self._thread_name_prefix = thread_name_prefix or (
            f"{type(self).__name__}-{next(_pool_numbers)}"
        )
        self._sentinel_sent = False
        # Wake the workers if this executor is collected without shutdown().
        weakref.finalize(self, self._state.queue.put, None).atexit = False

    @property
    def max_workers(self) -> int:
        """The most threads this pool runs at once."""
        return self._max_workers

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
        return self._state.queue.qsize()

    def _dispatch(self, item: WorkItem) -> bool:
        state = self._state
        if state.broken is not None:
            raise BrokenThreadPool(state.broken)
        state.queue.put(item)
        if not state.take_idle() and len(self._threads) < self._max_workers:
            self._start_thread()
        return False

    def _start_thread(self) -> None:
        thread = threading.Thread(
            name=f"{self._thread_name_prefix}_{len(self._threads)}",
            target=_work,
            args=(self._state,),
        )
        thread.start()
        self._threads.add(thread)

    def _stop(self, wait: bool, cancel_futures: bool) -> None:
        state = self._state
        if cancel_futures:
            for item in state.drain():
                item.cancel()
        with self._submit_lock:
            if not self._sentinel_sent:
                self._sentinel_sent = True
                state.queue.put(None)
        if wait:
            current = threading.current_thread()
            for thread in list(self._threads):
                if thread is not current:
                    thread.join()
