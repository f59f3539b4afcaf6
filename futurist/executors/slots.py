"""Slots and a backlog: the worker side a kind needs when its calls run on a cluster.

A remote kind (the Dask and Ray kinds, or a third party's) sends at most ``limit`` calls at
once; each holds a slot from :meth:`SlotWorkers.put` until it ends, and the others wait in a
backlog, where ``check_and_reject`` and priorities apply. The kind adds how a call is sent,
watched, settled and stopped; the bookkeeping of slots, backlog and a broken session is here.
"""

from __future__ import annotations

import concurrent.futures
import threading
from typing import Any, ClassVar

from futurist.exceptions import BrokenExecutor
from futurist.executors.workers import QueuedWorkers, StoppableWorkers, WorkItem
from futurist.naming import callable_name

__all__ = ["SlotWorkers"]


class SlotWorkers(StoppableWorkers, QueuedWorkers):
    """At most ``limit`` calls hold a slot at once; the rest wait in ``queue``.

    ``calls`` maps each item holding a slot to what the kind knows of it (its mark while it is
    being sent, then its handle on the cluster); ``in_use`` counts the slots held, ``broken``
    is the error of a session that lost its cluster. All of them change under ``lock``;
    ``changed`` (a condition on it) is notified when the last slot is freed with nothing
    queued, and by the kind on its own events.
    """

    executor_name: ClassVar[str] = "the executor"
    """The executor class's name, for the error of a submission to a broken session."""
    sending: ClassVar[object] = object()
    """The mark in ``calls`` of an item ``put`` gave a slot, until the kind has sent it."""

    def __init__(self, limit: int, lock: Any = None) -> None:
        super().__init__(lock)
        self.limit = limit
        self.changed = threading.Condition(self.lock)
        self.calls: dict[WorkItem, Any] = {}
        self.in_use = 0
        self.broken: BrokenExecutor | None = None

    def put(self, item: WorkItem) -> bool:
        """Give ``item`` a slot (True: the caller sends it, in ``hand_over``, outside the
        lock) or queue it; raise ``BrokenExecutor`` once the session is broken."""
        if self.broken is not None:
            raise BrokenExecutor(
                f"cannot submit {callable_name(item.fn)} to {self.executor_name}: {self.broken}"
            ) from self.broken.__cause__
        if self.in_use < self.limit:
            self.in_use += 1
            self.calls[item] = self.sending
            return True
        self.queue.append(item)
        return False

    def running(self) -> list[WorkItem]:
        """The items that hold a slot and have started."""
        with self.lock:
            items = list(self.calls)
        return [item for item in items if item.future.running()]

    def cancel_queued(self) -> list[WorkItem]:
        """Cancel every item still waiting for a slot; return those cancelled."""
        with self.lock:
            items = list(self.queue)
            self.queue.clear()
            self.notify_if_idle()
        return [item for item in items if item.cancel()]

    def wait_idle(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds until no call holds a slot or waits for one."""
        with self.changed:
            return self.changed.wait_for(self.is_idle, timeout)

    def is_idle(self) -> bool:
        """Whether no call holds a slot or waits for one (with ``lock`` held)."""
        return self.in_use == 0 and not self.queue

    def notify_if_idle(self) -> None:
        """Wake whoever waits for the session to be idle, if it is (with ``lock`` held)."""
        if self.is_idle():
            self.changed.notify_all()

    def take_from_backlog(self, future: concurrent.futures.Future[Any]) -> WorkItem | None:
        """Remove and return the backlog item of ``future``, if any (with ``lock`` held)."""
        item = next((queued for queued in self.queue if queued.future is future), None)
        if item is not None:
            self.queue.remove(item)
            self.notify_if_idle()
        return item
