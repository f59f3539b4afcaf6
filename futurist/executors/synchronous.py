"""SynchronousExecutor: the executor interface, with each call run by the caller itself."""

from __future__ import annotations

import threading
from collections.abc import Callable
from threading import get_ident
from typing import TYPE_CHECKING, Any

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
    """

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
            raise TypeError(f"run_work_func must be callable, got {run_work_func!r}")
        self._green = bool(green)
        super().__init__(
            check_and_reject,
            name=name,
            log_unread_failures=log_unread_failures,
            propagate_context=propagate_context,
        )
        self._run_work_func = run_work_func
        self._running: dict[int, int] = {}
        """How many calls run now, by the ident of the (green) thread running them."""
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
                "needs futurist[eventlet].",
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
        running = self._running
        thread = self._ident()
        running[thread] = running.get(thread, 0) + 1
        return True

    def _run_here(self, item: WorkItem) -> None:
        try:
            self._run_work_func(item)
        finally:
            # Only this thread ever changes its own entry, so no lock is needed to lower it.
            # A shutdown sets its flag before it looks at the entries: if the flag still reads
            # False here, that shutdown will find this entry already gone.
            running = self._running
            thread = self._ident()
            depth = running[thread] - 1
            if depth:
                running[thread] = depth
            else:
                del running[thread]
            if self._shutdown_started:
                with self._submit_lock:
                    if self._idle is not None:
                        self._idle.notify_all()

    def _stop(self, wait: bool, cancel_futures: bool) -> None:
        if not wait:
            return
        # Calls running in this thread (one that shuts down its own executor) cannot be
        # waited for; every call running in another thread is.
        here = self._ident()
        running = self._running

        def idle() -> bool:
            return not running or list(running) == [here]

        with self._submit_lock:
            if idle():
                return
            if self._idle is None:
                condition = green_condition if self._green else threading.Condition
                self._idle = condition(self._submit_lock)
            self._idle.wait_for(idle)
