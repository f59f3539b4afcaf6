"""The executor contract, written once for every kind: the shared front, :class:`Executor`.

A kind is its worker side, a :class:`~futurist.executors.workers.Workers` (how calls are queued,
run, cancelled and stopped, and how workers end), given to :class:`Executor` when it is built.
Everything else -- argument checks, the shutdown flag, ``check_and_reject``, waiting for room,
priorities, ``drain``, ``stop``, statistics and metrics, context propagation, ``map`` with
``buffersize``, interpreter exit -- lives here, and reaches the kind only through that interface.

How a submission flows::

    submit(fn)  --checks-->  [submit lock: alive? check_and_reject(backlog)]
                             --> WorkItem(future, fn)  --workers.put-->  kind's queue
    worker:  item.run()  -->  start (or count as cancelled) --> call fn --> record --> set future
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import importlib
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from futurist._naming import executor_name
from futurist._seconds import seconds
from futurist.exceptions import CallStopped, RejectedSubmission, StopNotSupported
from futurist.executors._flow import Flow
from futurist.executors._map import (
    batched_calls,
    check_map_arguments,
    ordered_results,
    unbatched,
)
from futurist.executors.sizing import DefaultWorkers
from futurist.executors.workers import StoppableWorkers, Workers, WorkItem
from futurist.figures import ExecutorMetrics
from futurist.futures import Future
from futurist.naming import callable_name, safe_repr
from futurist.rejection import CheckAndReject, backlog_capacity
from futurist.statistics import ExecutorStatistics, StatisticsRecorder

__all__ = [
    "CheckAndReject",
    "Executor",
    "PrioritizedSubmitter",
    "WorkItem",
    "live_executors",
    "refuse_context_where_calls_run_elsewhere",
    "validate_check_and_reject",
    "validate_initializer",
    "validate_max_workers",
]

LOG = logging.getLogger(__name__)

_T = TypeVar("_T")


def validate_max_workers(value: object, default: int, name: str = "max_workers") -> int:
    """Return ``value`` as a worker count (``default`` when None) or raise a clear error."""
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {safe_repr(value)}")
    if value <= 0:
        # The standard library's words first: logs and tools search for them.
        raise ValueError(f"{name} must be greater than 0, got {value}")
    return value


def _not_callable(fn: object) -> TypeError:
    """The refusal of ``submit`` for an ``fn`` it cannot call."""
    return TypeError(f"submit() needs a callable, got {type(fn).__name__} {safe_repr(fn)}")


def validate_check_and_reject(value: object) -> CheckAndReject | None:
    """Return ``value`` if it is None or callable, else raise ``TypeError`` naming it."""
    if value is not None and not callable(value):
        raise TypeError(
            "check_and_reject must be a callable taking (executor, backlog) or None, "
            f"got {type(value).__name__} {safe_repr(value)}"
        )
    return value


def validate_initializer(value: object) -> Callable[..., object] | None:
    """Return ``value`` if it is None or callable, else raise ``TypeError`` as the stdlib does."""
    if value is not None and not callable(value):
        raise TypeError(f"initializer must be a callable (or None), got {safe_repr(value)}")
    return value


class Executor(concurrent.futures.Executor):
    """Base of every futurist executor: the shared front of the contract, written once.

    A kind passes its :class:`~futurist.executors.workers.Workers` to ``__init__``; everything
    here talks to the kind through that interface alone.
    """

    kind: str = ""
    """The kind's plugin name, used in metrics and default names (the class name if empty).

    A class sets it; an instance may hold its own, as a wrapped plugin holds its plugin name."""

    def __init__(
        self,
        workers: Workers,
        check_and_reject: CheckAndReject | None = None,
        *,
        name: str | None = None,
        log_unread_failures: bool = True,
        propagate_context: bool = False,
    ) -> None:
        """``workers`` is the kind's worker side; ``name`` names the executor in metrics, logs
        and thread names (default: the kind and a number); ``log_unread_failures`` logs the
        exception of a failed call whose future is collected without anyone reading it;
        ``propagate_context`` runs each call in a copy of the submitter's :mod:`contextvars`
        context."""
        if not isinstance(workers, Workers):
            raise TypeError(
                f"workers must be a futurist.Workers instance, got {type(workers).__name__} "
                f"{safe_repr(workers)}"
            )
        self._check_and_reject = validate_check_and_reject(check_and_reject)
        kind = self.kind or type(self).__name__
        refuse_context_where_calls_run_elsewhere(kind, type(workers), propagate_context)
        self._propagate_context = bool(propagate_context)
        self._recorder = StatisticsRecorder(
            executor_name(name, kind), kind, bool(log_unread_failures)
        )
        self._workers = workers
        self._submit_lock = workers.lock
        self._future_class = workers.future_class
        self._shutdown_started = False
        self._flow: Flow | None = None
        if getattr(check_and_reject, "waits_for_room", False):
            self._start_flow()
        _live_executors.add(self)

    @classmethod
    def check_available(cls) -> None:
        """Raise ``ImportError`` if this kind cannot run here, saying what to install.

        Kinds import their optional dependencies lazily, so the class loads without them; tools
        such as ``futurist executors`` call this to tell. The error's ``name`` is the missing
        module. A kind without optional dependencies is always available, as here.
        """
        return None

    @classmethod
    def default_max_workers(cls, **options: Any) -> DefaultWorkers | None:
        """The ``max_workers`` this kind takes when given none, and the rule that gives it.

        ``options`` are the other constructor keywords it would be built with (a default may
        depend on them). Tools such as ``futurist config`` show it; a kind computes it with
        the code its constructor uses. None (as here) when the kind has no such default.
        """
        return None

    @property
    def alive(self) -> bool:
        """True until shutdown starts."""
        return not self._shutdown_started

    @property
    def statistics(self) -> ExecutorStatistics:
        """An immutable snapshot of what this executor has run so far."""
        return self._recorder.snapshot()

    @property
    def recorder(self) -> StatisticsRecorder:
        """The recorder counting this executor's calls: metrics backends add listeners to it
        (or to ``futurist.statistics.global_listeners``) and tell executors apart by it."""
        return self._recorder

    @property
    def name(self) -> str:
        """The name this executor goes by in metrics, logs and its threads' names."""
        return self._recorder.name

    @property
    def metrics(self) -> ExecutorMetrics:
        """The live figures (backlog, running calls, workers, histograms), taken now."""
        return _live_figures(self, self._recorder, self._workers, self._check_and_reject)

    def submit(self, fn: Callable[..., _T], /, *args: Any, **kwargs: Any) -> Future[_T]:
        """Schedule ``fn(*args, **kwargs)`` and return the future of its result.

        Raises ``TypeError`` if ``fn`` is not callable, ``RuntimeError`` after shutdown, and
        whatever ``check_and_reject`` raises (usually ``RejectedSubmission``).
        """
        if not callable(fn):
            raise _not_callable(fn)
        lock = self._submit_lock
        # acquire() and release() cost half of what ``with`` does, on every call's path.
        lock.acquire()
        try:
            item = self._accept(fn, args, kwargs)
            if self._flow is not None:
                item = self._flow.adopt(item)
            workers = self._workers
            hand_over = workers.put(item)
        finally:
            lock.release()
        if hand_over:
            workers.hand_over(item)
        return item.future

    def prioritized(self, priority: int) -> PrioritizedSubmitter:
        """A submitter whose ``submit`` gives its calls ``priority`` (an integer, default 0).

        Queued calls start highest priority first (Dask's convention), in submission order
        within one priority: ``executor.prioritized(10).submit(fn, *args, **kwargs)``. Kinds
        that run calls in the caller or in another executor accept the priority and ignore it.
        """
        return PrioritizedSubmitter(self, priority)

    def wait_for_room(self, max_backlog: int, timeout: float | None) -> None:
        """For ``check_and_reject`` policies, which run with the submission lock held: wait
        until fewer than ``max_backlog`` calls are queued.

        Raises :class:`~futurist.RejectedSubmission` past ``timeout`` seconds or at once from
        one of this executor's own workers (it could wait for itself), and ``RuntimeError`` if
        the executor shuts down meanwhile (but a delayed call due then, accepted before it,
        waits on). Needs a policy that says ``waits_for_room = True`` (as
        :func:`~futurist.rejection.wait_when_reached` does), so that the executor, as it is
        built, learns to wake waiting submitters when a call leaves its backlog.
        """
        flow = self._flow
        name = type(self).__name__
        if flow is None:
            raise RuntimeError(
                f"{name} was built without room tracking: pass wait_when_reached(...) as its "
                "check_and_reject when it is built"
            )
        workers = self._workers
        if workers.in_worker():
            raise RejectedSubmission(
                f"{name} backlog is full ({workers.backlog()} calls queued, max_backlog is "
                f"{max_backlog}) and this submission comes from one of its own workers: waiting "
                "there for room could wait forever, so it is refused at once"
            )
        deadline = None if timeout is None else time.monotonic() + timeout

        def has_room() -> bool:
            return workers.backlog() < max_backlog

        while not flow.wait_for_room(self._submit_lock, has_room, deadline):
            if self._shutdown_started and not self._admitting_accepted_call():
                raise RuntimeError(
                    f"cannot schedule new futures after shutdown: {name} was shut down while "
                    "this submission waited for room in its backlog"
                )
            if deadline is not None and time.monotonic() >= deadline:
                raise RejectedSubmission(
                    f"{name} backlog is full: {workers.backlog()} calls queued, max_backlog is "
                    f"{max_backlog}; no room came within the {timeout} s backlog timeout"
                )

    def drain(self, timeout: float) -> set[concurrent.futures.Future[Any]]:
        """Shut down, waiting at most ``timeout`` seconds for the accepted calls to finish.

        Past the deadline, queued calls are cancelled and running ones stopped where the kind
        can (their futures fail with :class:`~futurist.CallStopped`); elsewhere they run on.
        Returns the futures not finished at the deadline (empty if everything finished).
        From the executor's own machinery (a worker, a done callback it runs) only ``drain(0)``
        is allowed: waiting there would hold up what it waits for (``RuntimeError``).
        """
        limit = seconds("timeout", timeout, zero=True, infinite=True)
        workers = self._workers
        if limit > 0 and workers.in_worker():
            raise _cannot_drain_here(self, timeout)
        self.shutdown(wait=False)
        if workers.wait_idle(limit):
            self.shutdown(wait=True)
            return set()
        items = [*workers.cancel_queued(), *workers.running()]
        if isinstance(workers, StoppableWorkers):
            for item in items:
                if item.future.running():
                    workers.stop(item.future)
        return {item.future for item in items if _unfinished(item.future)}

    def stop(self, future: concurrent.futures.Future[Any]) -> None:
        """Stop the call of ``future``, which this executor accepted and has not finished.

        A queued call is cancelled, on every kind; a running one is stopped where the kind can
        (its future fails with :class:`~futurist.CallStopped`). Raises ``TypeError`` for a
        non-future, ``ValueError`` for a finished future or one this executor did not accept,
        and :class:`~futurist.StopNotSupported` for a running call where the kind cannot stop.
        """
        if not isinstance(future, concurrent.futures.Future):
            raise TypeError(
                f"stop() needs a future this executor returned, got {type(future).__name__} "
                f"{safe_repr(future)}"
            )
        if future.done():
            raise ValueError(f"cannot stop {future!r}: it is already done; only unfinished calls")
        if getattr(future, "_recorder", None) is not self._recorder:
            raise _not_accepted(self, future)
        workers = self._workers
        if isinstance(workers, StoppableWorkers):
            if not workers.stop(future):
                # Not held just now: changing hands (being cancelled, handed over) or ending.
                future.cancel()
        elif not (future.cancel() or future.done()):
            raise _cannot_stop(self, "stop a call")

    def terminate_workers(self) -> None:
        """Shut down at once: cancel queued calls and stop running ones (as Python 3.14's
        ``ProcessPoolExecutor.terminate_workers``: processes get SIGTERM).

        Raises :class:`~futurist.StopNotSupported`, changing nothing, where the kind cannot.
        """
        self._end_workers(kill=False)

    def kill_workers(self) -> None:
        """Like :meth:`terminate_workers`, but processes get SIGKILL (Python 3.14's meaning)."""
        self._end_workers(kill=True)

    def _end_workers(self, kill: bool) -> None:
        workers = self._workers
        if not isinstance(workers, StoppableWorkers):
            raise _cannot_stop(self, "kill_workers()" if kill else "terminate_workers()")
        self.shutdown(wait=False, cancel_futures=True)
        workers.end(kill)

    def _submit_prioritized(
        self, priority: int, fn: Callable[..., _T], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Future[_T]:
        """``submit`` with a priority; the kind switches to priority order on first use."""
        if not callable(fn):
            raise _not_callable(fn)
        with self._submit_lock:
            item = self._accept(fn, args, kwargs)
            item = self._adopt_prioritized(item, priority)
            workers = self._workers
            hand_over = workers.put(item)
        if hand_over:
            workers.hand_over(item)
        return item.future

    def _adopt_prioritized(self, item: WorkItem, priority: int) -> WorkItem:
        """Give an accepted item its priority (with the submit lock held)."""
        flow = self._flow
        if flow is None or not flow.ranked:
            flow = flow or self._start_flow()
            flow.ranked = True
            self._workers.use_priorities()
        if flow.reports:
            return flow.adopt(item, priority)
        item.priority = priority
        return item

    def _admitting_accepted_call(self) -> bool:
        """Whether this thread submits a call accepted before shutdown (a delayed one, due)."""
        return False

    def _renew_after_fork(self, workers: Workers | None = None) -> bool:
        """In a forked child: go on with fresh ``workers`` and new locks (a parent thread may
        have held the old ones at the fork): True. Without them (default): an inert copy."""
        if workers is None:
            return False
        self._workers, self._submit_lock = workers, workers.lock
        self._recorder.renew_lock()
        if self._flow is not None:
            self._flow = self._flow.renewed(workers.lock)
        return True

    def _start_flow(self) -> Flow:
        waits = getattr(self._check_and_reject, "waits_for_room", False)
        self._flow = Flow(self._submit_lock, waits=waits)
        return self._flow

    def _accept(
        self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> WorkItem:
        """Admit one call (alive? ``check_and_reject``) as a work item; needs the submit lock.

        Raises ``RuntimeError`` after shutdown and whatever ``check_and_reject`` raises.
        """
        if self._shutdown_started or _interpreter_exiting:
            raise _not_accepting(self, fn)
        if self._check_and_reject is not None:
            try:
                self._check_and_reject(self, self._workers.backlog())
            except BaseException:
                self._recorder.record_rejected()
                raise
        item = WorkItem(self._future_class(), fn, args, kwargs, self._recorder)
        if self._propagate_context:
            item.context = contextvars.copy_context()
        return item

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop accepting work; optionally cancel what has not started and wait for the rest.

        Idempotent: a later call may still wait or cancel what an earlier one did not.
        """
        with self._submit_lock:
            self._shutdown_started = True
        if self._flow is not None:
            self._flow.wake_all()
        workers = self._workers
        if cancel_futures:
            workers.cancel_queued()
        workers.close(wait)

    def map(
        self,
        fn: Callable[..., _T],
        *iterables: Iterable[Any],
        timeout: float | None = None,
        chunksize: int = 1,
        buffersize: int | None = None,
    ) -> Iterator[_T]:
        """Like the built-in ``map``, running the calls in this executor (Python 3.14 semantics).

        Results come in input order. With ``buffersize`` the iterables are read lazily and at
        most ``buffersize`` submitted calls are waiting to be yielded; without it every call is
        submitted at once. ``timeout`` bounds the whole iteration, from this call on. Where
        calls run in other processes, ``chunksize`` sends that many calls at a time.
        """
        check_map_arguments(chunksize, buffersize)
        deadline = None if timeout is None else time.monotonic() + timeout
        arguments = zip(*iterables, strict=False)
        if chunksize > 1 and self._workers.runs_elsewhere:
            calls = batched_calls(fn, arguments, chunksize)
            return unbatched(ordered_results(self, calls, deadline, buffersize))
        return ordered_results(self, ((fn, *args) for args in arguments), deadline, buffersize)

    def _on_interpreter_exit(self) -> None:
        """Let accepted work finish as the interpreter exits; nothing new is accepted."""
        self.shutdown(wait=self._workers.wait_at_exit)

    def __repr__(self) -> str:
        state = "alive" if self.alive else "shut down"
        return f"<{type(self).__name__} {self.name!r} {state} at {id(self):#x}>"


def refuse_context_where_calls_run_elsewhere(
    kind: str, workers: type[Workers], propagate_context: bool
) -> None:
    """Raise ``ValueError`` if ``propagate_context`` is asked of workers that run calls in
    other processes, where the submitter's context is not."""
    if propagate_context and workers.runs_elsewhere:
        raise ValueError(
            f"propagate_context=True is not possible with {kind}: its calls run "
            f"{workers.runs_elsewhere}, where the submitter's context is not"
        )


def _not_accepting(executor: Executor, fn: Callable[..., Any]) -> RuntimeError:
    """The refusal of a call after shutdown or as the interpreter exits."""
    name = type(executor).__name__
    if executor._shutdown_started:
        return RuntimeError(
            f"cannot schedule new futures after shutdown: {name} has been shut down, so "
            f"{callable_name(fn)} was not accepted"
        )
    return RuntimeError(
        "cannot schedule new futures after interpreter shutdown: the interpreter is exiting, "
        f"so {name} did not accept {callable_name(fn)}"
    )


def _cannot_stop(executor: Executor, what: str) -> StopNotSupported:
    """The refusal of a kind whose workers cannot be stopped from outside."""
    name = type(executor).__name__
    return StopNotSupported(
        f"{name} cannot {what}: its calls run in threads or green threads of this process, "
        "which cannot be interrupted safely. Cancel queued calls with future.cancel(), bound "
        "a shutdown with drain(timeout), or use a process or Dask executor to stop running calls",
        name,
    )


def _not_accepted(executor: Executor, future: concurrent.futures.Future[Any]) -> ValueError:
    """The refusal of ``stop()`` for a future ``executor`` did not return."""
    return ValueError(
        f"cannot stop {future!r}: {type(executor).__name__} {executor.name!r} did not accept "
        "it; only futures this executor returned can be stopped here"
    )


def _cannot_drain_here(executor: Executor, timeout: object) -> RuntimeError:
    """The refusal of ``drain(timeout)`` from the executor's own machinery."""
    return RuntimeError(
        f"cannot drain {type(executor).__name__} with a timeout ({timeout} s) from one of its "
        "own workers or a done callback its machinery runs: waiting there would hold up what "
        "runs the calls it waits for. Call drain(0) there to cancel what is queued at once, or "
        "drain from another thread"
    )


def _live_figures(
    executor: Executor,
    recorder: StatisticsRecorder,
    workers: Workers,
    check_and_reject: CheckAndReject | None,
) -> ExecutorMetrics:
    """An executor's figures now; sizes a kind has (``max_workers``, ``min_workers``) are read
    by name, and the queue's capacity from the bound its check declares."""
    statistics, started, rejected, run_time, queue_wait = recorder.figures()
    max_workers = getattr(executor, "max_workers", None)
    core_workers = getattr(executor, "min_workers", None)
    return ExecutorMetrics(
        name=recorder.name,
        kind=recorder.kind,
        statistics=statistics,
        queued=workers.backlog(),
        running=max(0, started - statistics.executed),
        workers=workers.count(),
        max_workers=max_workers if isinstance(max_workers, int) else None,
        rejected=rejected,
        run_time=run_time,
        queue_wait=queue_wait,
        queue_capacity=backlog_capacity(check_and_reject),
        core_workers=core_workers if isinstance(core_workers, int) else None,
    )


def _unfinished(future: concurrent.futures.Future[Any]) -> bool:
    """Whether a future seen unfinished at the deadline did not finish on its own since."""
    if not future.done() or future.cancelled():
        return True
    return isinstance(future.exception(), CallStopped)


class PrioritizedSubmitter:
    """What ``executor.prioritized(priority)`` returns: ``submit`` with that priority.

    Higher priorities start first; calls of one priority start in submission order. Kinds that
    run calls in the caller (synchronous) or in another executor (wrapped) accept and ignore it.
    A service that submits at a few fixed levels can keep one per level (``urgent =
    executor.prioritized(10)``) rather than make one per call.
    """

    __slots__ = ("executor", "priority")

    def __init__(self, executor: Executor, priority: int) -> None:
        if type(priority) is not int and (
            isinstance(priority, bool) or not isinstance(priority, int)
        ):
            raise TypeError(
                f"priority must be an integer (higher runs first, default 0), got "
                f"{type(priority).__name__} {safe_repr(priority)}"
            )
        self.executor = executor
        self.priority = priority

    def submit(self, fn: Callable[..., _T], /, *args: Any, **kwargs: Any) -> Future[_T]:
        """Schedule ``fn(*args, **kwargs)`` with this priority, as ``executor.submit`` would."""
        return self.executor._submit_prioritized(self.priority, fn, args, kwargs)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} priority={self.priority} of {self.executor!r}>"


_live_executors: weakref.WeakSet[Executor] = weakref.WeakSet()
_interpreter_exiting = False


def live_executors() -> list[Executor]:
    """Every executor alive now in this process (metrics backends publish them all)."""
    while True:
        try:
            return list(_live_executors)
        except RuntimeError:
            # Another thread built an executor while the weak set was being read: read again.
            continue


def _at_interpreter_exit() -> None:
    """Refuse new work and let each live executor finish what it accepted."""
    global _interpreter_exiting
    _interpreter_exiting = True
    for executor in list(_live_executors):
        try:
            executor._on_interpreter_exit()
        except Exception:
            # One executor's failure must cost neither the others' work nor the exit hooks
            # Python runs after this one.
            LOG.exception("%r failed to finish its work at interpreter exit", executor)


def _renew_inherited_executors() -> None:
    """In a forked child, executors copied from the parent own none of their workers.

    A kind that can work on there (the thread pools, with fresh workers) renews itself and
    stays known, so that interpreter exit lets it finish its work; the others are inert copies
    that exit skips: shutting them down could block forever on a lock another parent thread
    held at the moment of the fork.
    """
    inherited = list(_live_executors)
    _live_executors.clear()
    for executor in inherited:
        try:
            renewed = executor._renew_after_fork()
        except Exception:
            LOG.exception("%r could not renew itself in forked process %d", executor, os.getpid())
            continue
        if renewed:
            _live_executors.add(executor)


os.register_at_fork(after_in_child=_renew_inherited_executors)
# Runs before the interpreter joins non-daemon threads, as the standard library's pools do.
# Those hooks run last-registered first: registering after the standard library's thread pool
# module lets our executors finish their work while the pools they rely on (Dask uses them)
# still accept it.
importlib.import_module("concurrent.futures.thread")
getattr(threading, "_register_atexit")(_at_interpreter_exit)  # noqa: B009
