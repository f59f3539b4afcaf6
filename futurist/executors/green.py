"""GreenThreadPoolExecutor: runs calls on an eventlet GreenPool and returns green futures.

Data flow::

    submit --> pool has a free green thread? --yes--> spawn a worker with the item
                        |no
                        v
                  [backlog deque] <-- each worker, after its item, takes the next one from here
                                      and exits when the backlog is empty
    shutdown(wait) --> waits (greenly) until no worker is left

Everything here runs in the thread of the eventlet hub (or, after ``eventlet.monkey_patch()``,
in green threads that look like threads), so submission never yields and no lock is held across a
switch. Workers hold the shared :class:`_GreenState`, never the executor.
"""

from __future__ import annotations

import collections
from typing import Any

from futurist._eventlet import eventlet_module, green_lock
from futurist.executors.base import CheckAndReject, Executor, WorkItem, validate_max_workers
from futurist.futures import Future, GreenFuture

__all__ = ["GreenThreadPoolExecutor"]


class _GreenState:
    """What the green workers share: the pool, the backlog and who waits for them to finish."""

    __slots__ = ("active", "backlog", "drain_waiters", "pool")

    def __init__(self, pool: Any) -> None:
        self.pool = pool
        self.backlog: collections.deque[WorkItem] = collections.deque()
        self.active = 0
        self.drain_waiters: list[Any] = []

    def wait_for_workers(self, eventlet: Any) -> None:
        """Wait greenly until every worker but the calling one (if it is one) has exited."""
        current = eventlet.getcurrent()
        allowed = 1 if current in self.pool.coroutines_running else 0
        while self.active > allowed:
            event = eventlet.Event()
            self.drain_waiters.append(event)
            event.wait()


def _work(state: _GreenState, item: WorkItem) -> None:
    """A green worker: run ``item``, then whatever waits in the backlog, then exit."""
    backlog = state.backlog
    try:
        item.run()
        del item
        while backlog:
            backlog.popleft().run()
    finally:
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
    Needs eventlet (``pip install futurist[eventlet]``); works with or without
    ``eventlet.monkey_patch()``. Submit from the hub's thread (any green thread), as with every
    eventlet object.
    """

    _future_class: type[Future[Any]] = GreenFuture

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
        """Raise ``ImportError`` naming ``futurist[eventlet]`` if eventlet is not installed."""
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
            state.active += 1
            state.pool.spawn_n(_work, state, item)
        else:
            state.backlog.append(item)
        return False

    def _on_interpreter_exit(self) -> None:
        # Green threads only run while some green thread waits: at exit the main one waits for
        # the accepted work here, or it would never run.
        self.shutdown(wait=True)

    def _stop(self, wait: bool, cancel_futures: bool) -> None:
        state = self._state
        if cancel_futures:
            while state.backlog:
                state.backlog.popleft().cancel()
        if wait:
            state.wait_for_workers(self._eventlet)
