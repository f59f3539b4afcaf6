"""SynchronousExecutor: the executor interface, with each call run by the caller itself."""

from __future__ import annotations

import threading
from collections.abc import Callable
from threading import get_ident
from typing import TYPE_CHECKING, Any

from futurist._eventlet import green_condition, green_ident, green_lock
from futurist.executors.base import CheckAndReject, Executor
from futurist.executors.workers import Workers, WorkItem
from futurist.futures import GreenFuture

if TYPE_CHECKING:
    from oslo_config import cfg

__all__ = ["SynchronousExecutor"]


class _CallerWorkers(Workers):
    """The worker side of the synchronous kind: each caller runs its own call.

    ``running`` holds the calls running now, each with the ident of the (green) thread running
    it; only that thread removes its own item, so no lock is needed for that.
    """

    def __init__(self, green: bool, run_work_func: Callable[[WorkItem], None]) -> None:
        super().__init__(green_lock() if green else None)
        # Green callers share one OS thread: they need a lock that yields instead of blocking.
        self.green = green
        self.run_work_func = run_work_func
        self.running_calls: dict[WorkItem, int] = {}
        self.stopping = False
        self.idle: Any = None
        """Condition on the submit lock, made by the first close that has calls to wait for."""
        if green:
            self.future_class = GreenFuture
            self.ident: Callable[[], int] = green_ident()
        else:
            self.ident = get_ident

    def put(self, item: WorkItem) -> bool:
        self.running_calls[item] = self.ident()
        return True

    def hand_over(self, item: WorkItem) -> None:
        try:
            self.run_work_func(item)
        finally:
            # A close sets ``stopping`` before it looks at the items: if the flag still reads
            # False here, that close will find this item already gone.
            del self.running_calls[item]
            if self.stopping:
                with self.lock:
                    if self.idle is not None:
                        self.idle.notify_all()

    def backlog(self) -> int:
        return 0

    def running(self) -> list[WorkItem]:
        return list(self.running_calls)

    def cancel_queued(self) -> list[WorkItem]:
        return []

    def in_worker(self) -> bool:
        return self.ident() in list(self.running_calls.values())

    def wait_idle(self, timeout: float | None) -> bool:
        """Wait up to ``timeout`` seconds for the calls running in other threads; True if none
        is left. Calls running in this thread (one that shuts down its own executor) cannot be
        waited for."""
        here = self.ident()
        running = self.running_calls

        def idle() -> bool:
            return all(thread == here for thread in list(running.values()))

        with self.lock:
            if idle():
                return True
            if self.idle is None:
                condition = green_condition if self.green else threading.Condition
                self.idle = condition(self.lock)
            return bool(self.idle.wait_for(idle, timeout))

    def close(self, wait: bool) -> None:
        self.stopping = True
        if wait:
            self.wait_idle(None)


class SynchronousExecutor(Executor):
    """Runs every call in the thread that submits it, before ``submit`` returns.

    Useful where the executor interface is wanted without threads or processes (tests, retries,
    simple tools). ``run_work_func(work)`` runs each work item (default: ``work.run()``);
    ``check_and_reject`` sees a backlog of 0: nothing ever waits in this executor.
    After ``shutdown()``, ``restart()`` clears the statistics and accepts work again.
    Priorities are accepted and ignored (each call runs at once); a running call cannot be
    stopped (``stop``, ``terminate_workers`` and ``kill_workers`` raise ``StopNotSupported``).
    """

    kind = "synchronous"

    def __init__(  # noqa: PLR0913 -- the public constructor (futurist 3.5 arguments and ours)
        self,
        green: bool = False,
        run_work_func: Callable[[WorkItem], None] = WorkItem.run,
        *,
        check_and_reject: CheckAndReject | None = None,
        name: str | None = None,
        log_unread_failures: bool = True,
        propagate_context: bool = False,
    ) -> None:
        if not callable(run_work_func):
            # ValueError, as in the original futurist.
            raise ValueError(f"run_work_func must be callable, got {run_work_func!r}")
        self._callers = _CallerWorkers(bool(green), run_work_func)
        super().__init__(
            self._callers,
            check_and_reject,
            name=name,
            log_unread_failures=log_unread_failures,
            propagate_context=propagate_context,
        )

    @classmethod
    def config_options(cls) -> list[cfg.Opt]:
        """The oslo.config options this kind reads, beyond the common ones."""
        from oslo_config import cfg

        return [
            cfg.BoolOpt(
                "green",
                default=False,
                help="Return green futures, whose waiting yields to the eventlet hub; "
                "needs eventlet (futurist's eventlet extra).",
            )
        ]

    @property
    def green(self) -> bool:
        """Whether this executor returns green futures."""
        return self._callers.green

    def restart(self) -> None:
        """Accept work again after a shutdown, with statistics cleared (no-op while alive)."""
        with self._submit_lock:
            if not self._shutdown_started:
                return
            self._shutdown_started = False
            self._callers.stopping = False
            self._recorder.reset()
