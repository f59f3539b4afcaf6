"""SynchronousExecutor: the executor interface, with each call run by the caller itself."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures._base import FINISHED
from threading import get_ident
from time import perf_counter
from typing import TYPE_CHECKING, Any, TypeVar

from futurist._eventlet import green_condition, green_ident, green_lock
from futurist.executors import base as _base
from futurist.executors.base import CheckAndReject, Executor, _not_accepting, _not_callable
from futurist.executors.workers import (
    _RUN_NOT_COUNTED,
    _START_NOT_COUNTED,
    Workers,
    WorkItem,
)
from futurist.futures import Future, GreenFuture
from futurist.naming import callable_name
from futurist.statistics import FOLD_AT

if TYPE_CHECKING:
    from oslo_config import cfg

__all__ = ["SynchronousExecutor"]

_T = TypeVar("_T")

LOG = logging.getLogger(__name__)


def _call_kept_by_its_caller() -> None:
    """Stands for the call in the items :meth:`_CallerWorkers.running` makes: the synchronous
    kind keeps each running call's future and thread, and the call stays with its caller."""


class _CallerWorkers(Workers):
    """The worker side of the synchronous kind: each caller runs its own call.

    ``running_calls`` holds the calls running now: each one's future, with the ident of the
    (green) thread running it. Only that thread removes it, so no lock is needed for that.
    """

    def __init__(self, green: bool, run_work_func: Callable[[WorkItem], None]) -> None:
        super().__init__(green_lock() if green else None)
        # Green callers share one OS thread: they need a lock that yields instead of blocking.
        self.green = green
        self.run_work_func = run_work_func
        self.running_calls: dict[Future[Any], int] = {}
        self.stopping = False
        self.idle: Any = None
        """Condition on the submit lock, made by the first close that has calls to wait for."""
        if green:
            self.future_class = GreenFuture
            self.ident: Callable[[], int] = green_ident()
        else:
            self.ident = get_ident

    def put(self, item: WorkItem) -> bool:
        self.running_calls[item.future] = self.ident()
        return True

    def hand_over(self, item: WorkItem) -> None:
        try:
            self.run_work_func(item)
        finally:
            # A close sets ``stopping`` before it looks at the calls: if the flag still reads
            # False here, that close will find this call already gone.
            del self.running_calls[item.future]
            if self.stopping:
                self.wake_close()

    def wake_close(self) -> None:
        """Wake a close waiting for the running calls: one of them has just ended."""
        with self.lock:
            if self.idle is not None:
                self.idle.notify_all()

    def backlog(self) -> int:
        return 0

    def running(self) -> list[WorkItem]:
        """A work item around each running call's future, made now."""
        return [
            WorkItem(future, _call_kept_by_its_caller, (), {}, future._recorder)
            for future in list(self.running_calls)
        ]

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
        # A subclass that admits calls its own way (the delayed mixin) keeps the general path.
        self._runs_direct = (
            check_and_reject is None
            and not propagate_context
            and run_work_func is WorkItem.run
            and type(self)._accept is Executor._accept
        )
        self._made_running = self._future_class._made_running

    def submit(self, fn: Callable[..., _T], /, *args: Any, **kwargs: Any) -> Future[_T]:
        """Run ``fn(*args, **kwargs)`` now and return the future of its result.

        Raises as :meth:`futurist.executors.base.Executor.submit` does. Without a
        ``check_and_reject``, context propagation, priorities, a ``run_work_func`` or a delay
        mixin, nothing needs the submission lock: the call is registered as running before
        the executor is checked alive, and a shutdown marks the executor before it waits for
        the running calls, so each sees the other. The future is made running (nobody can see
        it wait).
        """
        if not self._runs_direct or self._flow is not None:
            return super().submit(fn, *args, **kwargs)
        if not callable(fn):
            raise _not_callable(fn)
        future: Future[_T] = self._made_running()
        # Known as this executor's before other threads can see it running (``drain``).
        future._recorder = recorder = self._recorder
        callers = self._callers
        running_calls = callers.running_calls
        running_calls[future] = callers.ident()
        try:
            if self._shutdown_started or _base._interpreter_exiting:
                raise _not_accepting(self, fn)
            try:
                recorder.record_start(0.0)
            except Exception:
                LOG.exception(_START_NOT_COUNTED, callable_name(fn))
            started = perf_counter()
            try:
                # Without keywords the call need not copy an empty dict of them.
                result = fn(*args, **kwargs) if kwargs else fn(*args)
            except BaseException as exc:
                item = WorkItem(future, fn, args, kwargs, recorder)
                item.fail(exc, perf_counter() - started, exc.__traceback__)
            else:
                try:
                    recorder.record_success(perf_counter() - started)
                except Exception:
                    LOG.exception(_RUN_NOT_COUNTED, callable_name(fn))
                # The result, then the state (as ``result()`` reads them without the lock).
                future._result = result
                future._state = FINISHED
                if future._lock_made:
                    future._wake_readers()
                if len(recorder.runs) > FOLD_AT:
                    recorder.fold()
        finally:
            del running_calls[future]
            if callers.stopping:
                callers.wake_close()
        return future

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
