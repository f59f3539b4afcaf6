"""ThreadPoolExecutor: a pool of threads that reuses idle ones before starting another.

Data flow::

    submit --> [queue of WorkItem] --> worker threads (at most max_workers)
                      ^                      |
                      |                 idle count: raised after each item, claimed by
                      |                 the next submit so an idle thread is reused first
    shutdown --> one None sentinel; each worker passes it on and exits once the queue is drained
    max_workers = n --> more threads for queued work, or one retire token per surplus thread:
                        whichever worker takes a token (when it is next idle) exits

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
from typing import TYPE_CHECKING, Any

from futurist.executors.base import CheckAndReject, Executor, WorkItem, validate_max_workers

if TYPE_CHECKING:
    from oslo_config import cfg

__all__ = ["ThreadPoolExecutor", "default_thread_count"]

LOG = logging.getLogger(__name__)


class _Retire:
    """The token telling the worker that takes it to exit (the pool was made smaller)."""

    __slots__ = ()


_RETIRE = _Retire()


def default_thread_count() -> int:
    """Default ``max_workers`` of thread pools: five threads per CPU."""
    return 5 * (os.cpu_count() or 1)


class _PoolState:
    """What the worker threads share: the queue, the idle count and whether the pool broke."""

    __slots__ = ("broken", "idle", "initargs", "initializer", "lock", "queue", "retiring")

    def __init__(
        self, initializer: Callable[..., object] | None, initargs: tuple[Any, ...]
    ) -> None:
        self.queue: queue.SimpleQueue[WorkItem | _Retire | None] = queue.SimpleQueue()
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

    def drain(self) -> list[WorkItem]:
        """Take every queued item out of the queue (sentinels and retire tokens stay)."""
        items: list[WorkItem] = []
        tokens: list[_Retire | None] = []
        while True:
            try:
                item = self.queue.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, WorkItem):
                items.append(item)
            else:
                tokens.append(item)
        for token in tokens:
            self.queue.put(token)
        return items

    def break_pool(self, reason: str) -> None:
        """Mark the pool unusable and fail everything still queued with ``BrokenThreadPool``."""
        self.broken = reason
        for item in self.drain():
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
    while True:
        item = get()
        if item is None:
            state.queue.put(None)
            return
        if isinstance(item, _Retire):
            with state.lock:
                state.retiring -= 1
            # Take back the idle credit this thread gave after its last item, if still there.
            state.take_idle()
            return
        item.run()
        del item
        became_idle()


class ThreadPoolExecutor(Executor):
    """Runs calls on a pool of up to ``max_workers`` threads, gathering statistics.

    Idle threads are reused before a new one starts, so sequential work runs on one thread.
    ``thread_name_prefix``, ``initializer`` and ``initargs`` mean what they mean in
    :class:`concurrent.futures.ThreadPoolExecutor`; threads are named after the executor's
    ``name`` unless ``thread_name_prefix`` is given.
    """

    kind = "thread"

    def __init__(
        self,
        max_workers: int | None = None,
        check_and_reject: CheckAndReject | None = None,
        *,
        thread_name_prefix: str = "",
        initializer: Callable[..., object] | None = None,
        initargs: tuple[Any, ...] = (),
        name: str | None = None,
        log_unread_failures: bool = True,
        propagate_context: bool = False,
    ) -> None:
        max_workers = validate_max_workers(max_workers, default_thread_count())
        if initializer is not None and not callable(initializer):
            raise TypeError(f"initializer must be callable or None, got {initializer!r}")
        if not isinstance(thread_name_prefix, str):
            raise TypeError(f"thread_name_prefix must be a str, got {thread_name_prefix!r}")
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
        state = self._state
        if state.broken is not None:
            raise BrokenThreadPool(state.broken)
        state.queue.put(item)
        if not state.take_idle() and self._worker_count < self._max_workers:
            self._start_thread()
        return False

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
