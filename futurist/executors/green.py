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
switch. Workers hold the shared ``_GreenState``, never the executor.
"""

from __future__ import annotations

import collections
import time
from typing import Any, ClassVar

from futurist._eventlet import eventlet_module, green_lock
from futurist.executors._flow import PriorityBacklog
from futurist.executors.base import CheckAndReject, Executor, WorkItem, validate_max_workers
from futurist.futures import Future, GreenFuture

__all__ = ["GreenThreadPoolExecutor"]


class _GreenState:
    """What the green workers share: the pool, the backlog and who waits for them to finish."""

    __slots__ = ("active", "backlog", "drain_waiters", "pool", "running")

    def __init__(self, pool: Any) -> None:
        self.pool = pool
        self.backlog: collections.deque[WorkItem] | PriorityBacklog = collections.deque()
        self.active = 0
        self.drain_waiters: list[Any] = []
        self.running: dict[Any, WorkItem] = {}
        """The item each green worker runs now, by green thread."""

    def wait_for_workers(self, eventlet: Any, timeout: float | None = None) -> bool:
        """Wait greenly until every worker but the calling one (if it is one) has exited, or
        ``timeout`` seconds pass; True if they all have."""
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
        return True


def _work(state: _GreenState, item: WorkItem) -> None:
    """A green worker: run ``item``, then whatever waits in the backlog, then exit."""
    running = state.running
    me = eventlet_module().getcurrent()
    try:
        running[me] = item
        item.run()
        while state.backlog:
            running[me] = item = state.backlog.popleft()
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

    _future_class: type[Future[Any]] = GreenFuture
    _tracks_items: ClassVar[bool] = True

    kind = "green"

    def __init__(
        self,
        max_workers: int | None = 1000,
        check_and_reject: CheckAndReject | None = None,
        *,
        name: str | None = None,
        log_unread_failures: bool = True,
        propagate_context: bool = False,
    ) -> None:
        max_workers = validate_max_workers(max_workers, 1000)
        eventlet = eventlet_module()
        super().__init__(
            check_and_reject,
            name=name,
            log_unread_failures=log_unread_failures,
            propagate_context=propagate_context,
        )
        self._eventlet = eventlet
        self._max_workers = max_workers
        self._state = _GreenState(eventlet.GreenPool(max_workers))

    @classmethod
    def check_available(cls) -> None:
        """Raise ``ImportError`` naming the package to install if eventlet is not installed."""
        eventlet_module()

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
        return self._state.active

    @property
    def queue_size(self) -> int:
        """How many submitted calls wait for a green thread."""
        return len(self._state.backlog)

    def _new_lock(self) -> Any:
        return green_lock()

    def _backlog(self) -> int:
        return len(self._state.backlog)

    def _dispatch(self, item: WorkItem) -> bool:
        state = self._state
        if state.pool.free() > 0:
            # Spawning does not switch green threads: a failed spawn leaves nothing behind,
            # and the error reaches the submitter with nothing recorded.
            state.pool.spawn_n(_work, state, item)
            state.active += 1
        else:
            state.backlog.append(item)
        return False

    def _use_priorities(self) -> None:
        state = self._state
        if not isinstance(state.backlog, PriorityBacklog):
            state.backlog = PriorityBacklog(list(state.backlog))

    def _in_own_worker(self) -> bool:
        return self._eventlet.getcurrent() in self._state.pool.coroutines_running

    def _running_items(self) -> list[WorkItem]:
        return list(self._state.running.values())

    def _cancel_queued(self) -> list[WorkItem]:
        backlog = self._state.backlog
        cancelled = []
        while backlog:
            item = backlog.popleft()
            if item.cancel():
                cancelled.append(item)
        return cancelled

    def _wait_idle(self, timeout: float) -> bool:
        # From a worker, the calls still queued wait for it (or another worker) to take them.
        state = self._state
        return state.wait_for_workers(self._eventlet, timeout) and not state.backlog

    def _on_interpreter_exit(self) -> None:
        # Green threads only run while some green thread waits: at exit the main one waits for
        # the accepted work here, or it would never run.
        self.shutdown(wait=True)

    def _stop(self, wait: bool, cancel_futures: bool) -> None:
        state = self._state
        if cancel_futures:
            self._cancel_queued()
        if wait:
            state.wait_for_workers(self._eventlet)
