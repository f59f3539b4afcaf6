"""SynchronousExecutor: the executor interface, with each call run by the caller itself."""

from __future__ import annotations

import threading
from collections.abc import Callable
from threading import get_ident
from typing import TYPE_CHECKING, Any, ClassVar

from futurist._eventlet import green_condition, green_ident, green_lock
from futurist.executors.base import CheckAndReject, Executor, WorkItem
from futurist.futures import GreenFuture

if TYPE_CHECKING:
    from oslo_config import cfg

__all__ = ["SynchronousExecutor"]


class SynchronousExecutor(Executor):
    """Runs every call in the thread that submits it, before ``submit`` returns.

    Useful where the executor interface is wanted without threads or processes (tests, retries,
    simple tools). ``run_work_func(work)`` runs each work item (default: ``work.run()``);
    ``check_and_reject`` sees a backlog of 0: nothing ever waits in this executor.
    After ``shutdown()``, ``restart()`` clears the statistics and accepts work again.
    Priorities are accepted and ignored (each call runs at once); a running call cannot be
    stopped (``stop``, ``terminate_workers`` and ``kill_workers`` raise ``StopNotSupported``).
    """

    _tracks_items: ClassVar[bool] = True
    kind = "synchronous"

    def __init__(
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
        self._green = bool(green)
        super().__init__(
            check_and_reject,
            name=name,
            log_unread_failures=log_unread_failures,
            propagate_context=propagate_context,
        )
        self._run_work_func = run_work_func
        self._running: dict[WorkItem, int] = {}
        """The calls running now, each with the ident of the (green) thread running it."""
        self._idle: Any = None
        """Condition on the submit lock, made by the first shutdown that has calls to wait for."""
        if self._green:
            self._future_class = GreenFuture
            self._ident: Callable[[], int] = green_ident()
        else:
            self._ident = get_ident

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
        return self._green

    def restart(self) -> None:
        """Accept work again after a shutdown, with statistics cleared (no-op while alive)."""
        with self._submit_lock:
            if not self._shutdown_started:
                return
            self._shutdown_started = False
            self._recorder.reset()

    def _new_lock(self) -> Any:
        # Green callers share one OS thread: they need a lock that yields instead of blocking.
        return green_lock() if self._green else threading.Lock()

    def _backlog(self) -> int:
        return 0

    def _dispatch(self, item: WorkItem) -> bool:
        self._running[item] = self._ident()
        return True

    def _run_here(self, item: WorkItem) -> None:
        try:
            self._run_work_func(item)
        finally:
            # Only this thread ever removes its own items, so no lock is needed. A shutdown
            # sets its flag before it looks at the items: if the flag still reads False here,
            # that shutdown will find this item already gone.
            del self._running[item]
            if self._shutdown_started:
                with self._submit_lock:
                    if self._idle is not None:
                        self._idle.notify_all()

    def _running_items(self) -> list[WorkItem]:
        return list(self._running)

    def _cancel_queued(self) -> list[WorkItem]:
        return []

    def _wait_idle(self, timeout: float) -> bool:
        return self._wait_for_calls(timeout)

    def _stop(self, wait: bool, cancel_futures: bool) -> None:
        if wait:
            self._wait_for_calls(None)

    def _wait_for_calls(self, timeout: float | None) -> bool:
        """Wait up to ``timeout`` seconds for the calls running in other threads; True if none
        is left. Calls running in this thread (one that shuts down its own executor) cannot be
        waited for."""
        here = self._ident()
        running = self._running

        def idle() -> bool:
            return all(thread == here for thread in list(running.values()))

        with self._submit_lock:
            if idle():
                return True
            if self._idle is None:
                condition = green_condition if self._green else threading.Condition
                self._idle = condition(self._submit_lock)
            return bool(self._idle.wait_for(idle, timeout))
