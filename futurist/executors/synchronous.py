"""SynchronousExecutor: the executor interface, with each call run by the caller itself."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from futurist.executors.base import Executor, WorkItem

if TYPE_CHECKING:
    from oslo_config import cfg

__all__ = ["SynchronousExecutor"]


def _run_work(work: WorkItem) -> None:
    work.run()


class SynchronousExecutor(Executor):
    """Runs every call in the thread that submits it, before ``submit`` returns.

    Useful where the executor interface is wanted without threads or processes (tests, retries,
    simple tools). ``run_work_func(work)`` runs each work item (default: ``work.run()``);
    ``green=True`` returns green futures whose waiting yields to the eventlet hub.
    After ``shutdown()``, ``restart()`` clears the statistics and accepts work again.
    """

    def __init__(
        self,
        green: bool = False,
        run_work_func: Callable[[WorkItem], None] = _run_work,
    ) -> None:
        if not callable(run_work_func):
            raise TypeError(f"run_work_func must be callable, got {run_work_func!r}")
        super().__init__()
        self._green = bool(green)
        if self._green:
            from futurist.futures import GreenFuture

            self._future_class = GreenFuture
        self._run_work_func = run_work_func
        self._running = 0
        self._running_here = threading.local()
        self._idle = threading.Condition(self._submit_lock)

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

    def _backlog(self) -> int:
        return 0

    def _dispatch(self, item: WorkItem) -> bool:
        self._running += 1
        return True

    def _run_here(self, item: WorkItem) -> None:
        local = self._running_here
        local.depth = getattr(local, "depth", 0) + 1
        try:
            self._run_work_func(item)
        finally:
            local.depth -= 1
            with self._idle:
                self._running -= 1
                if self._shutdown_started:
                    self._idle.notify_all()

    def _stop(self, wait: bool, cancel_futures: bool) -> None:
        if not wait:
            return
        # Calls running in this thread (one that shuts down its own executor) cannot be
        # waited for; every call running in another thread is.
        here = getattr(self._running_here, "depth", 0)
        with self._idle:
            self._idle.wait_for(lambda: self._running <= here)
