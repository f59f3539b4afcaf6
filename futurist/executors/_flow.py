"""Priorities and waiting for room, for every kind: the state an executor keeps for them.

An executor that never uses these pays nothing for them: its items stay plain
:class:`~futurist.executors.workers.WorkItem` objects. The first prioritized submission or a
``wait_when_reached`` policy gives the executor a :class:`Flow`; with a waiting policy every
accepted item is then a :class:`FlowWorkItem` that carries its priority and tells the flow when
it leaves the backlog, so a waiting submitter may take its place::

    submit --> [submit lock: check_and_reject]
                 wait_when_reached: backlog full? --> release the submit lock, wait for
                 Flow.left() (an item started) or shutdown --> take the lock, check again
           --> FlowWorkItem(priority) --> kind's queue, in priority order once one was used

Priorities follow Dask's convention: higher numbers run first, 0 is the default, and calls of one
priority start in submission order.
"""

from __future__ import annotations

import _thread
import threading
import time
from collections.abc import Callable
from typing import Any

from futurist._eventlet import green_condition, green_lock
from futurist.exceptions import CallStopped
from futurist.executors.workers import WorkItem
from futurist.naming import callable_name

__all__ = ["Flow", "FlowWorkItem", "stopped_error"]


class FlowWorkItem(WorkItem):
    """A work item that tells its executor's :class:`Flow` when it leaves the backlog, so a
    submitter waiting for room may take its place."""

    __slots__ = ("flow",)

    def __init__(self, item: WorkItem, priority: int, flow: Flow) -> None:
        super().__init__(item.future, item.fn, item.args, item.kwargs, item.recorder)
        self.accepted = item.accepted
        self.context = item.context
        self.priority = priority
        self.flow = flow

    def run(self) -> None:
        self.flow.left()
        WorkItem.run(self)

    def start(self) -> bool:
        self.flow.left()
        return super().start()

    def cancel(self) -> bool:
        cancelled = super().cancel()
        if cancelled:
            self.flow.left()
        return cancelled


class Flow:
    """One executor's flow state: whether it uses priorities, and who waits for room.

    Its condition has a lock of its own (of the kind's flavour: green kinds get a green one), so
    items report to it from any worker without touching the submit lock.
    """

    __slots__ = ("_condition", "_generation", "_waiters", "ranked", "reports")

    def __init__(self, submit_lock: Any, *, waits: bool) -> None:
        if isinstance(submit_lock, _thread.LockType):
            self._condition: Any = threading.Condition(threading.Lock())
        else:
            self._condition = green_condition(green_lock())
        self._generation = 0
        self._waiters = 0
        self.reports = waits
        """Whether items report to this flow (else a flow only gives them priorities)."""
        self.ranked = False
        """Whether the kind was told to order its queue by priority (``use_priorities``)."""

    def renewed(self, submit_lock: Any) -> Flow:
        """A flow like this one for ``submit_lock``, with nobody waiting (for a forked child:
        the waiters are the parent's)."""
        flow = Flow(submit_lock, waits=self.reports)
        flow.ranked = self.ranked
        return flow

    def adopt(self, item: WorkItem, priority: int = 0) -> WorkItem:
        """The accepted ``item`` with its priority, reporting to this flow if it must."""
        if not self.reports:
            return item
        if isinstance(item, FlowWorkItem) and item.flow is self:
            # A delayed call handed over at its deadline was adopted when it was accepted.
            item.priority = priority
            return item
        return FlowWorkItem(item, priority, self)

    def left(self) -> None:
        """An item left the backlog: wake the submitters waiting for room, if any."""
        if self._waiters:
            self.wake_all()

    def wake_all(self) -> None:
        """Wake every waiting submitter (an item left the backlog, or shutdown started)."""
        with self._condition:
            self._generation += 1
            self._condition.notify_all()

    def wait_for_room(
        self, submit_lock: Any, has_room: Callable[[], bool], deadline: float | None
    ) -> bool:
        """With ``submit_lock`` held: True if ``has_room()``, else wait (lock released) for the
        next item to leave the backlog, a shutdown, or the ``deadline`` (``time.monotonic``);
        False after a wait.

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
                    self._condition.wait_for(
                        lambda: self._generation != generation, _remaining(deadline)
                    )
            finally:
                submit_lock.acquire()
            return False
        finally:
            with self._condition:
                self._waiters -= 1


def _remaining(deadline: float | None) -> float:
    if deadline is None:
        return threading.TIMEOUT_MAX
    return max(0.0, deadline - time.monotonic())


def stopped_error(item: WorkItem, why: str, error: type[CallStopped] = CallStopped) -> CallStopped:
    """The error a stopped call's future fails with (``error``, a kind's own subclass)."""
    return error(f"{callable_name(item.fn)} was stopped while it ran: {why}")
