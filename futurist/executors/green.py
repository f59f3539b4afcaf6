"""GreenThreadPoolExecutor: runs calls on an eventlet GreenPool and returns green futures.

Data flow::

    submit --> pool has a free green thread? --yes--> spawn a worker with the item
                        |no
                        v
                  [backlog deque] <-- each worker, after its item, takes the next one from here
                                      and exits when the backlog is empty
    shutdown(wait) --> waits (greenly) until no worker is left
    first prioritized submit --> the backlog deque becomes a priority heap with the same methods

Everything here runs in the thread of the eventlet hub (or, after ``eventlet.monkey_patch()``,
in green threads that look like threads), so submission never yields and no lock is held across a
switch. Workers hold the shared ``_GreenWorkers``, never the executor.
"""

from __future__ import annotations

import time
from typing import Any

from futurist._eventlet import eventlet_module, green_lock
from futurist.executors.base import CheckAndReject, Executor, validate_max_workers
from futurist.executors.sizing import DefaultWorkers
from futurist.executors.workers import QueuedWorkers, WorkItem
from futurist.futures import GreenFuture

__all__ = ["GreenThreadPoolExecutor"]

_DEFAULT_GREEN_THREADS = 1000
"""``max_workers`` when given none: green threads cost little, so many may wait at once."""


class _GreenWorkers(QueuedWorkers):
    """The worker side of the green kind: the pool, the backlog and who waits for the workers.

    Green workers share this, never the executor.
    """

    future_class = GreenFuture
    wait_at_exit = True
    """Green threads only run while some green thread waits: at exit the main one waits for the
    accepted work, or it would never run."""

    def __init__(self, eventlet: Any, max_workers: int) -> None:
        super().__init__(green_lock())
        self.eventlet = eventlet
        self.pool = eventlet.GreenPool(max_workers)
        self.active = 0
        self.drain_waiters: list[Any] = []
        self.running_now: dict[Any, WorkItem] = {}
        """The item each green worker runs now, by green thread."""

    def put(self, item: WorkItem) -> bool:
        pool = self.pool
        if pool.free() > 0:
            # Spawning does not switch green threads: a failed spawn leaves nothing behind,
            # and the error reaches the submitter with nothing recorded.
            pool.spawn_n(_work, self, item)
            self.active += 1
        else:
            self.queue.append(item)
        return False

    def running(self) -> list[WorkItem]:
        return list(self.running_now.values())

    def cancel_queued(self) -> list[WorkItem]:
        queued = self.queue
        cancelled = []
        while queued:
            item = queued.popleft()
            if item.cancel():
                cancelled.append(item)
        return cancelled

    def in_worker(self) -> bool:
        return self.eventlet.getcurrent() in self.pool.coroutines_running

    def close(self, wait: bool) -> None:
        if wait:
            self.wait_idle(None)

    def count(self) -> int:
        return self.active

    def wait_idle(self, timeout: float | None) -> bool:
        """Wait greenly until every worker but the calling one (if it is one) has exited, or
        ``timeout`` seconds pass; True if they all have and nothing is queued (from a worker,
        the calls still queued wait for it to take them)."""
        eventlet = self.eventlet
        current = eventlet.getcurrent()
        allowed = 1 if current in self.pool.coroutines_running else 0
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.active > allowed:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return False
            event = eventlet.Event()
            self.drain_waiters.append(event)
            event.wait(remaining)
        return not self.queue


def _work(state: _GreenWorkers, item: WorkItem) -> None:
    """A green worker: run ``item``, then whatever waits in the backlog, then exit."""
    running = state.running_now
    me = eventlet_module().getcurrent()
    try:
        running[me] = item
        item.run()
        while state.queue:
            running[me] = item = state.queue.popleft()
            item.run()
        del item
    finally:
        running.pop(me, None)
        state.active -= 1
        waiters = state.drain_waiters
        if waiters:
            state.drain_waiters = []
            for event in waiters:
                event.send()


class GreenThreadPoolExecutor(Executor):
    """Runs calls on up to ``max_workers`` eventlet green threads, gathering statistics.

    Submitted calls beyond ``max_workers`` wait in a backlog, which is what ``check_and_reject``
    sees. Futures are :class:`~futurist.GreenFuture`, so waiting on them yields to the hub.
    Needs eventlet (``pip install eventlet``, the ``eventlet`` extra); works with or without
    ``eventlet.monkey_patch()``. Submit from the hub's thread (any green thread), as with every
    eventlet object. Honours priorities; cannot stop a running call (``stop``,
    ``terminate_workers`` and ``kill_workers`` raise ``StopNotSupported``).
    """

    kind = "green"

    def __init__(
        self,
        max_workers: int | None = _DEFAULT_GREEN_THREADS,
        check_and_reject: CheckAndReject | None = None,
        *,
        name: str | None = None,
        log_unread_failures: bool = True,
        propagate_context: bool = False,
    ) -> None:
        max_workers = validate_max_workers(max_workers, _DEFAULT_GREEN_THREADS)
        self._max_workers = max_workers
        self._green = _GreenWorkers(eventlet_module(), max_workers)
        super().__init__(
            self._green,
            check_and_reject,
            name=name,
            log_unread_failures=log_unread_failures,
            propagate_context=propagate_context,
        )

    @classmethod
    def check_available(cls) -> None:
        """Raise ``ImportError`` naming the package to install if eventlet is not installed."""
        eventlet_module()

    @classmethod
    def default_max_workers(cls, **options: Any) -> DefaultWorkers | None:
        """A fixed number of green threads, whatever the CPUs (they wait, they do not compute)."""
        return DefaultWorkers(_DEFAULT_GREEN_THREADS, "fixed")

    @classmethod
    def config_options(cls) -> list[Any]:
        """This kind has no options beyond the common ``max_workers`` and ``max_backlog``."""
        return []

    @property
    def max_workers(self) -> int:
        """The most green threads this executor runs at once."""
        return self._max_workers

    @property
    def num_workers(self) -> int:
        """How many green worker threads are alive now."""
        return self._green.active

    @property
    def queue_size(self) -> int:
        """How many submitted calls wait for a green thread."""
        return len(self._green.queue)
