"""WrappedExecutor: any ``concurrent.futures.Executor`` given futurist's contract.

A plain executor (a third-party plugin, or one of the standard library's) runs calls but keeps no
statistics, has no ``check_and_reject`` and no ``alive``. Wrapping it adds them::

    submit --> WorkItem, counted as pending --> inner.submit(trampoline)
    inner's worker: trampoline --> item leaves pending (backlog - 1) --> item.run() (timed)
    inner future cancelled or failed before the trampoline ran --> the item is cancelled or failed

The trampoline runs the call in the inner executor's worker, in this process: an executor that
sends calls to other processes should be written as a futurist kind instead.
"""

from __future__ import annotations

import concurrent.futures
import threading
from typing import Any

from futurist.executors.base import CheckAndReject, Executor
from futurist.executors.workers import Workers, WorkItem
from futurist.naming import safe_repr

__all__ = ["WrappedExecutor"]


class _InnerWorkers(Workers):
    """The worker side of a wrapped executor: trampolines on the inner executor's workers.

    ``pending`` holds the items the inner executor accepted and did not start (the backlog),
    ``running_now`` those running; ``unfinished`` counts every accepted item not ended yet.
    """

    def __init__(self, inner: concurrent.futures.Executor) -> None:
        super().__init__()
        self.inner = inner
        self._lock = threading.Lock()
        self._pending: set[WorkItem] = set()
        self._running: set[WorkItem] = set()
        self._unfinished = 0
        self._all_finished = threading.Condition(self._lock)
        self._running_here = threading.local()

    def put(self, item: WorkItem) -> bool:
        with self._lock:
            self._pending.add(item)
            self._unfinished += 1
        # Hand the item over once the submit lock is released: an inner executor that runs
        # calls inline would otherwise deadlock a call that submits more work.
        return True

    def hand_over(self, item: WorkItem) -> None:
        try:
            inner_future = self.inner.submit(self._trampoline, item)
        except BaseException:
            if self._take(item):
                with self._lock:
                    self._finished_one()
                raise
            # A concurrent shutdown(cancel_futures=True) already cancelled the item.
            return
        inner_future.add_done_callback(lambda done: self._inner_done(item, done))

    def backlog(self) -> int:
        return len(self._pending)

    def running(self) -> list[WorkItem]:
        with self._lock:
            return list(self._running)

    def cancel_queued(self) -> list[WorkItem]:
        with self._lock:
            queued, self._pending = self._pending, set()
        cancelled = [item for item in queued if item.cancel()]
        with self._lock:
            for _ in queued:
                self._finished_one()
        return cancelled

    def in_worker(self) -> bool:
        return getattr(self._running_here, "depth", 0) > 0

    def wait_idle(self, timeout: float | None) -> bool:
        here = getattr(self._running_here, "depth", 0)
        with self._all_finished:
            return bool(self._all_finished.wait_for(lambda: self._unfinished <= here, timeout))

    def close(self, wait: bool) -> None:
        # The inner executor stops accepting work now; its own wait is done below, so a call
        # running on it that shuts this executor down never joins its own thread.
        self.inner.shutdown(wait=False)
        if not wait:
            return
        self.wait_idle(None)
        if getattr(self._running_here, "depth", 0) == 0:
            self.inner.shutdown(wait=True)

    def _trampoline(self, item: WorkItem) -> None:
        """Runs in the inner executor's worker: the item leaves the backlog and runs."""
        if not self._take(item):
            return
        local = self._running_here
        local.depth = getattr(local, "depth", 0) + 1
        with self._lock:
            self._running.add(item)
        try:
            item.run()
        finally:
            local.depth -= 1
            with self._lock:
                self._running.discard(item)
                self._finished_one()

    def _take(self, item: WorkItem) -> bool:
        """Remove ``item`` from the pending set; False if another path already ended it."""
        with self._lock:
            if item not in self._pending:
                return False
            self._pending.remove(item)
            return True

    def _inner_done(self, item: WorkItem, inner_future: concurrent.futures.Future[Any]) -> None:
        """End an item whose trampoline never ran: the inner future was cancelled or failed."""
        if not self._take(item):
            return
        try:
            if inner_future.cancelled():
                item.cancel()
            elif item.start():
                exc = inner_future.exception()
                item.fail(exc or RuntimeError(f"{type(self.inner).__name__} dropped the call"))
        finally:
            with self._lock:
                self._finished_one()

    def __reduce__(self) -> Any:
        raise TypeError(
            f"{type(self.inner).__name__} tried to send a call to another process; "
            "WrappedExecutor runs calls through in-process trampolines, so an executor that "
            "uses other processes must be written as a futurist kind "
            "(futurist.Executor with futurist.Workers)"
        )

    def _finished_one(self) -> None:
        """Count one item as ended; called with ``self._lock`` held."""
        self._unfinished -= 1
        if self._unfinished == 0:
            self._all_finished.notify_all()


class WrappedExecutor(Executor):
    """Runs calls on ``inner`` (a plain ``concurrent.futures.Executor``), keeping the contract.

    ``backlog`` counts calls the inner executor has accepted but not started, precisely, so
    ``check_and_reject`` policies work; ``shutdown(wait=True)`` waits for every accepted call.
    ``kind`` is what metrics and the default name call it: the registry gives a plugin's name
    (``wrapped`` when None).
    """

    kind = "wrapped"

    def __init__(  # noqa: PLR0913 -- the public constructor: the inner executor and ours
        self,
        inner: concurrent.futures.Executor,
        check_and_reject: CheckAndReject | None = None,
        *,
        name: str | None = None,
        kind: str | None = None,
        log_unread_failures: bool = True,
        propagate_context: bool = False,
    ) -> None:
        if not isinstance(inner, concurrent.futures.Executor):
            raise TypeError(
                f"inner must be a concurrent.futures.Executor, got {type(inner).__name__} "
                f"{safe_repr(inner)}"
            )
        if kind is not None:
            if not isinstance(kind, str):
                raise TypeError(
                    f"kind must be a str or None, got {type(kind).__name__} {safe_repr(kind)}"
                )
            if not kind:
                raise ValueError("kind must not be empty; pass None for 'wrapped'")
            self.kind = kind
        self._inner = inner
        super().__init__(
            _InnerWorkers(inner),
            check_and_reject,
            name=name,
            log_unread_failures=log_unread_failures,
            propagate_context=propagate_context,
        )

    @property
    def inner(self) -> concurrent.futures.Executor:
        """The executor that runs the calls."""
        return self._inner

    def __repr__(self) -> str:
        state = "alive" if self.alive else "shut down"
        return f"<{type(self).__name__} of {self._inner!r} {state} at {id(self):#x}>"
