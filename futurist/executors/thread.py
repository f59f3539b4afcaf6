"""ThreadPoolExecutor: a pool of threads that reuses idle ones before starting another.

Data flow::

    submit --> a mark in ``outstanding`` --> [queue of WorkItem] --> worker threads (at most
       |       max_workers) --> item.run(), then the worker takes a mark out
       +-- every worker busy (marks > workers): start one, so idle ones are reused first
    shutdown --> one None sentinel; each worker passes it on and exits once the queue is drained
    max_workers = n --> more threads for queued work, or one retire token per surplus thread:
                        whichever worker takes a token (when it is next idle) exits
    idle timeout (the dynamic pool's) --> a worker with no work for that long exits, as long
                        as enough others stay
    first prioritized submit --> queued items move to a priority heap (the lane); from then on
                        every item goes to the lane and a pick token to the queue: the worker
                        taking a token runs the lane's best item

Workers hold the shared ``_ThreadWorkers``, never the executor, so an executor that is
garbage-collected without ``shutdown()`` still lets its threads drain the queue and exit.
"""

from __future__ import annotations

import collections
import itertools
import logging
import queue
import threading
import time
import weakref
from collections.abc import Callable
from concurrent.futures.thread import BrokenThreadPool
from typing import TYPE_CHECKING, Any

from futurist.executors.base import (
    CheckAndReject,
    Executor,
    validate_initializer,
    validate_max_workers,
)
from futurist.executors.sizing import DefaultWorkers, cpu_count
from futurist.executors.workers import Workers, WorkItem, priority_of
from futurist.naming import safe_repr

if TYPE_CHECKING:
    from oslo_config import cfg

__all__ = ["ThreadPoolExecutor", "default_thread_count", "default_threads"]

LOG = logging.getLogger(__name__)


class _Token:
    """A queue entry that is not work: a retire or a pick token."""

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


_THREADS_PER_CPU = 5


def default_thread_count() -> int:
    """Default ``max_workers`` of thread pools: five threads per CPU."""
    return _THREADS_PER_CPU * cpu_count()


def default_threads() -> DefaultWorkers:
    """:func:`default_thread_count` with the rule that gives it, for tools to show."""
    return DefaultWorkers(default_thread_count(), f"{_THREADS_PER_CPU} × CPUs")


class _ThreadWorkers(Workers):
    """The worker side of a thread pool: what the worker threads share, never the executor.

    The queue and its lane, whether the pool broke, the worker threads and the retire tokens
    in the queue: all changed only under ``lock``, the executor's submit lock, so a sizing
    decision, a worker leaving and the pool breaking never cross a submission. Each item put
    adds a mark to ``outstanding`` (before it is queued) and the worker that finished it takes
    one out, without any lock (``deque.append`` and ``pop`` are atomic, as in
    :mod:`futurist.statistics`): its length is the count of items running or queued, one
    statement per call on each side, and never more marks than such items to keep.
    """

    __slots__ = (
        "broken",
        "grow_threshold",
        "idle_timeout",
        "initargs",
        "initializer",
        "keep",
        "lane",
        "max_workers",
        "numbers",
        "outstanding",
        "prefix",
        "queue",
        "retiring",
        "room",
        "sentinel_sent",
        "slots",
        "threads",
    )

    def __init__(
        self,
        max_workers: int,
        initializer: Callable[..., object] | None,
        initargs: tuple[Any, ...],
    ) -> None:
        super().__init__()
        self.max_workers = max_workers
        self.queue: queue.SimpleQueue[WorkItem | _Token | None] = queue.SimpleQueue()
        self.lane: _Lanes | None = None
        """Queued items in priority order, once a priority was used."""
        self.slots: set[Slot] = set()
        self.initializer = initializer
        self.initargs = initargs
        self.broken: str | None = None
        self.outstanding: collections.deque[None] = collections.deque()
        """One mark per accepted item not finished yet (running or queued)."""
        self.threads: set[threading.Thread] = set()
        self.numbers = itertools.count()
        self.prefix = ""
        """What the worker threads' names start with."""
        self.retiring = 0
        """Retire tokens still in the queue (they are not work, so not backlog)."""
        self.sentinel_sent = False
        self.idle_timeout: float | None = None
        """Seconds a worker waits for work before it retires; None: it waits for ever."""
        self.keep = 0
        """The fewest workers idle retirement leaves."""
        self.grow_threshold: float | None = None
        """The load, (running + queued) / threads, at which the pool grows; None: only when
        every thread is busy, so idle ones are reused."""
        self.room = max_workers
        """How many more threads the pool may start: ``max_workers`` less those staying,
        counted again (:meth:`count_room`) whenever either changes, so a submission to a
        pool at its size tests one number."""

    # -- the Workers interface -------------------------------------------------------------

    def put(self, item: WorkItem) -> bool:
        """Queue ``item`` and mark it outstanding; start a thread if the pool should grow.

        Raises ``BrokenThreadPool`` if the pool broke: :meth:`break_pool` drains the queue
        under the same lock, so no item can slip in behind a drain. The mark goes in before
        the item, so a worker never takes out a mark that is not there yet.
        """
        if self.broken is not None:
            raise BrokenThreadPool(self.broken)
        self.outstanding.append(None)
        if self.lane is None:
            self.queue.put(item)
        else:
            self.put_ranked(item)
        if self.room > 0:
            threads = self.max_workers - self.room
            if self.should_grow(len(self.outstanding), threads):
                self._start_thread_for(item, threads)
        return False

    def backlog(self) -> int:
        # After shutdown the queue also holds the sentinel the workers pass on.
        return max(0, self.queue.qsize() - self.retiring - self.sentinel_sent)

    def renewed(self) -> _ThreadWorkers:
        """Empty workers with these settings and a lock of their own, for a forked child: the
        threads, the queued calls and the counts are the parent's."""
        fresh = _ThreadWorkers(self.max_workers, self.initializer, self.initargs)
        fresh.broken, fresh.prefix = self.broken, self.prefix
        fresh.idle_timeout, fresh.keep = self.idle_timeout, self.keep
        fresh.grow_threshold = self.grow_threshold
        if self.lane is not None:
            fresh.use_priorities()
        return fresh

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

    def running(self) -> list[WorkItem]:
        return [item for slot in list(self.slots) if (item := slot.item) is not None]

    def cancel_queued(self) -> list[WorkItem]:
        return [item for item in self.drain() if item.cancel()]

    def in_worker(self) -> bool:
        return threading.current_thread() in self.threads

    def wait_idle(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        current = threading.current_thread()
        for thread in list(self.threads):
            if thread is not current:
                thread.join(max(0.0, deadline - time.monotonic()))
        return not self.running() and not self.backlog()

    def close(self, wait: bool) -> None:
        with self.lock:
            if not self.sentinel_sent:
                self.sentinel_sent = True
                self.queue.put(None)
        if wait:
            current = threading.current_thread()
            for thread in list(self.threads):
                if thread is not current:
                    thread.join()

    def count(self) -> int:
        return sum(1 for thread in list(self.threads) if thread.is_alive())

    # -- sizing (with ``lock`` held) ------------------------------------------------------------

    @property
    def staying(self) -> int:
        """Worker threads that are not about to retire."""
        return len(self.threads) - self.retiring

    def count_room(self) -> None:
        """Count ``room`` again, after ``max_workers``, the threads or the retiring changed."""
        self.room = self.max_workers - self.staying

    def should_grow(self, outstanding: int, threads: int) -> bool:
        """Whether ``threads`` workers need another for ``outstanding`` running + queued calls."""
        if threads >= self.max_workers:
            return False
        threshold = self.grow_threshold
        if threshold is None or threads == 0:
            return outstanding > threads
        return outstanding >= threshold * threads

    def grow(self) -> bool:
        """Start threads while the pool needs more; True if any."""
        grew = False
        while self.should_grow(len(self.outstanding), self.staying):
            self.start_thread()
            grew = True
        return grew

    def _start_thread_for(self, item: WorkItem, workers: int) -> None:
        """Start a thread for the just-queued ``item``, or cope when it cannot start.

        With ``workers`` other threads running, one of them runs the item later; with none,
        the item is taken back and the error reaches the submitter, with nothing recorded.
        """
        try:
            self.start_thread()
        except Exception:
            if not workers:
                self.withdraw(item)
                raise
            LOG.warning(
                "%s could not start another worker thread; its %d running threads will run "
                "the queued work",
                self.prefix,
                workers,
                exc_info=True,
            )

    def start_thread(self) -> None:
        """Start one worker (so it counts before it can leave)."""
        thread = threading.Thread(
            name=f"{self.prefix}_{next(self.numbers)}", target=_work, args=(self,)
        )
        self.threads.add(thread)
        self.count_room()
        try:
            thread.start()
        except BaseException:
            self.threads.discard(thread)
            self.count_room()
            raise

    def retire(self, count: int) -> None:
        """Queue ``count`` retire tokens, each to stop one worker when it is next idle."""
        self.retiring += max(0, count)
        self.count_room()
        for _ in range(count):
            self.queue.put(_RETIRE)

    def retire_when_idle(self, after: float, keep: int) -> None:
        """Let a worker idle for ``after`` seconds retire, as long as ``keep`` others stay."""
        self.idle_timeout = after
        self.keep = keep

    # -- called by the worker threads -----------------------------------------------------------

    def leave(self, *, retiring: bool = False) -> None:
        """The calling worker stops counting (``retiring``: it took a retire token)."""
        with self.lock:
            self.threads.discard(threading.current_thread())
            if retiring:
                self.retiring -= 1
            self.count_room()

    def leave_when_idle(self) -> bool:
        """Whether a worker whose wait for work timed out leaves (it does above ``keep``)."""
        with self.lock:
            if self.staying <= self.keep or self.queue.qsize():
                return False
            self.threads.discard(threading.current_thread())
            self.count_room()
            return True

    # -- the queue ------------------------------------------------------------------------------

    def put_ranked(self, item: WorkItem) -> None:
        """Queue ``item`` in its lane, and a pick token for a worker."""
        self.lane.push(item)  # type: ignore[union-attr]
        self.queue.put(_PICK)

    def take_ranked(self) -> WorkItem:
        """The best queued item, for a worker that took a pick token."""
        return self.lane.pop()  # type: ignore[union-attr]

    def withdraw(self, item: WorkItem) -> None:
        """Take ``item`` back out of the queue (with ``lock`` held: no thread could be started
        to run it)."""
        for other in self.drain():
            if other is item:
                continue
            if self.lane is None:
                self.queue.put(other)
            else:
                self.put_ranked(other)
        self.outstanding.pop()

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


def _run_initializer(state: _ThreadWorkers) -> bool:
    """Run the pool's initializer in a new worker; on failure break the pool and return False."""
    if state.initializer is None:
        return True
    try:
        state.initializer(*state.initargs)
    except BaseException:
        # Named with safe_repr: an initializer whose repr raises must still break the pool,
        # or the calls waiting for this worker would wait forever.
        initializer = safe_repr(state.initializer)
        LOG.exception("thread pool initializer %s failed", initializer)
        state.break_pool(f"initializer {initializer} failed; the thread pool cannot run work")
        return False
    return True


def _work(state: _ThreadWorkers) -> None:
    """A worker thread's loop: run queued items until the shutdown sentinel arrives.

    The worker leaves earlier when it takes a retire token, or when no work came for the
    pool's ``idle_timeout`` (if it has one) and enough other workers stay.
    """
    if not _run_initializer(state):
        state.leave()
        return
    get = state.queue.get
    idle_timeout = state.idle_timeout
    finished = state.outstanding.pop
    slot = Slot()
    state.slots.add(slot)
    try:
        while True:
            try:
                item = get(True, idle_timeout)
            except queue.Empty:
                if state.leave_when_idle():
                    return
                continue
            # One type check lets a plain item through; the rest is rare: the sentinel, a
            # token, or an item of a WorkItem subclass.
            if type(item) is not WorkItem:
                if item is None:
                    state.queue.put(None)
                    return
                if item is _PICK:
                    item = state.lane.pop()  # type: ignore[union-attr]
                elif not isinstance(item, WorkItem):
                    state.leave(retiring=True)
                    return
            slot.item = item
            item.run()
            slot.item = item = None
            finished()
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

    def __init__(  # noqa: PLR0913 -- the public constructor (the stdlib pool arguments and ours)
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
        self._pool = pool = _ThreadWorkers(max_workers, initializer, tuple(initargs))
        super().__init__(
            pool,
            check_and_reject,
            name=name,
            log_unread_failures=log_unread_failures,
            propagate_context=propagate_context,
        )
        pool.prefix = thread_name_prefix or self.name
        self._wake_workers_when_collected()

    def _wake_workers_when_collected(self) -> None:
        """Let the workers drain the queue and exit if this executor is collected without
        ``shutdown()``."""
        weakref.finalize(self, self._pool.queue.put, None).atexit = False

    def _renew_after_fork(self, workers: Workers | None = None) -> bool:
        """In a forked child, the parent's threads are gone: start again with no thread and an
        empty queue (the calls queued in the parent run there), on new locks; the next submit
        starts fresh workers. A pool shut down in the parent stays shut down."""
        if self._shutdown_started:
            return False
        self._pool = self._pool.renewed()
        self._wake_workers_when_collected()
        return super()._renew_after_fork(self._pool)

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

    @classmethod
    def default_max_workers(cls, **options: Any) -> DefaultWorkers | None:
        """Five threads per CPU."""
        return default_threads()

    @property
    def max_workers(self) -> int:
        """The most threads this pool runs at once; assign to resize the running pool.

        Growing starts threads at once for calls already queued (as many as the pool's rule
        for growing asks); shrinking lets each surplus thread finish its current call and exit
        when it is next idle. Queued work is kept.
        """
        return self._pool.max_workers

    @max_workers.setter
    def max_workers(self, value: int) -> None:
        pool = self._pool
        value = validate_max_workers(value, pool.max_workers)
        self._check_max_workers(value)
        with self._submit_lock:
            pool.max_workers = value
            pool.count_room()
            if self._shutdown_started or pool.broken is not None:
                return
            pool.retire(pool.staying - value)
            pool.grow()

    @property
    def num_workers(self) -> int:
        """How many worker threads are alive now."""
        return self._pool.count()

    @property
    def queue_size(self) -> int:
        """How many submitted calls wait for a thread."""
        return self._pool.backlog()

    def get_num_idle_workers(self) -> int:
        """How many worker threads are not running a call now."""
        pool = self._pool
        running = len(pool.outstanding) - pool.backlog()
        return max(0, pool.staying - running)

    def _check_max_workers(self, value: int) -> None:
        """Raise ``ValueError`` if this pool cannot take ``value`` as its new ``max_workers``.

        The plain pool takes every size ``validate_max_workers`` lets through; the dynamic
        pool also needs it above ``min_workers``.
        """
