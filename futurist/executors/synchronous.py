"""SynchronousExecutor: the executor interface, with each call run by the caller itself."""

from __future__ import annotations

import threading
from collections.abc import Callable
from threading import get_ident

from futurist.executors.base import CheckAndReject, Executor, WorkItem

__all__ = ["SynchronousExecutor"]


class SynchronousExecutor(Executor):
    """Runs every call in the thread that submits it, before ``submit`` returns.

    Useful where the executor interface is wanted without threads or processes (tests, retries,
    simple tools). ``run_work_func(work)`` runs each work item (default: ``work.run()``);
    ``check_and_reject`` sees a backlog of 0: nothing ever waits in this executor.
    After ``shutdown()``, ``restart()`` clears the statistics and accepts work again.
    """

    def __init__(
        self,
        green: bool = False,
        run_work_func: Callable[[WorkItem], None] = WorkItem.run,
        *,
        check_and_reject: CheckAndReject | None = None,
    ) -> None:
        if not callable(run_work_func):
            raise TypeError(f"run_work_func must be callable, got {run_work_func!r}")
        super().__init__(check_and_reject)
        self._green = bool(green)
        self._run_work_func = run_work_func
        self._running: dict[int, int] = {}
        """How many calls run now, by the ident of the thread running them."""
        self._idle = threading.Condition(self._submit_lock)

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

    def _backlog(self) -> int:
        return 0

    def _dispatch(self, item: WorkItem) -> bool:
        running = self._running
        thread = get_ident()
        running[thread] = running.get(thread, 0) + 1
        return True

    def _run_here(self, item: WorkItem) -> None:
        try:
            self._run_work_func(item)
        finally:
            running = self._running
            thread = get_ident()
            with self._submit_lock:
                depth = running[thread] - 1
                if depth:
                    running[thread] = depth
                else:
                    del running[thread]
                if self._shutdown_started:
                    self._idle.notify_all()

    def _stop(self, wait: bool, cancel_futures: bool) -> None:
        if not wait:
            return
        # Calls running in this thread (one that shuts down its own executor) cannot be
        # waited for; every call running in another thread is.
        here = get_ident()
        running = self._running
        with self._idle:
            self._idle.wait_for(lambda: not running or list(running) == [here])
