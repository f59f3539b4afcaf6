"""The executor contract, implemented once for every kind.

A kind subclasses :class:`Executor` and supplies three things: ``_dispatch`` (hand an accepted
:class:`WorkItem` to its workers, or keep it to run in the caller), ``_backlog`` (how many
items wait for a worker) and ``_stop`` (finish the shutdown the base has started). Everything
else -- argument checks, the shutdown flag, ``check_and_reject``, statistics, ``map`` with
``buffersize``, interpreter exit -- lives here.

Flow control (``prioritized``, ``drain``, ``stop``, ``terminate_workers``/``kill_workers``; the
machinery is in ``futurist/executors/_flow.py``) works on every kind through optional hooks:
``_use_priorities`` (order the queue by ``priority_of(item)``), ``_in_own_worker``,
``_running_items``/``_cancel_queued``/``_wait_idle`` (with ``_tracks_items = True``; without
them the base tracks items itself), ``_stop_call`` and ``_end_workers`` (default: the kind
cannot stop running calls and says so).

How a submission flows::

    submit(fn)  --checks-->  [submit lock: alive? check_and_reject(backlog)]
                             --> WorkItem(future, fn)  --_dispatch-->  kind's queue
    worker:  item.run()  -->  start (or count as cancelled) --> call fn --> record --> set future
"""

from __future__ import annotations

import abc
import collections
import concurrent.futures
import contextlib
import contextvars
import importlib
import itertools
import logging
import numbers
import os
import threading
import time
import weakref
from collections.abc import Callable, Generator, Iterable, Iterator
from time import perf_counter
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from futurist._naming import callable_name, executor_name, safe_repr
from futurist.futures import Future, UnreadFailure
from futurist.metrics import ExecutorMetrics
from futurist.statistics import ExecutorStatistics, StatisticsRecorder

if TYPE_CHECKING:
    from futurist.executors._flow import Flow

__all__ = [
    "CheckAndReject",
    "Executor",
    "PrioritizedSubmitter",
    "WorkItem",
    "validate_check_and_reject",
    "validate_initializer",
    "validate_max_workers",
]

LOG = logging.getLogger(__name__)

_T = TypeVar("_T")

CheckAndReject = Callable[[Any, int], None]
"""``check_and_reject(executor, backlog)``: raise ``RejectedSubmission`` to refuse a submission."""


_START_NOT_COUNTED = "could not count the start of %s in the executor's statistics"
_RUN_NOT_COUNTED = "could not count the run of %s in the executor's statistics"


class WorkItem:
    """One accepted call: its future, the call itself, and the recorder that counts it.

    Every path that ends a work item (run, cancel, fail) goes through a method here, so each
    accepted future reaches exactly one terminal state and is counted exactly once. ``accepted``
    is when it was accepted (``perf_counter``), to measure its queue wait; ``context``, if set,
    is the context the call runs in.
    """

    __slots__ = ("accepted", "args", "context", "fn", "future", "kwargs", "priority", "recorder")

    priority: int
    """Set only by a prioritized submission: read it as ``getattr(item, "priority", 0)``."""

    def __init__(
        self,
        future: Future[Any],
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        recorder: StatisticsRecorder,
    ) -> None:
        self.future = future
        self.fn = fn
        self.args = args
        self.kwargs = kwargs
        self.recorder = recorder
        self.context: contextvars.Context | None = None
        self.accepted = perf_counter()

    def run(self) -> None:
        """Run the call in this thread, unless its future was cancelled while it waited."""
        future = self.future
        recorder = self.recorder
        if not future.set_running_or_notify_cancel():
            recorder.record_cancelled()
            return
        started = perf_counter()
        # The guarded recordings of _record_start/_record_run, written out: this is every
        # call's hot path, and two calls fewer are about 5% of a synchronous submit.
        try:
            recorder.record_start(started - self.accepted)
        except Exception:
            LOG.exception(_START_NOT_COUNTED, self)
        try:
            if self.context is None:
                result = self.fn(*self.args, **self.kwargs)
            else:
                result = self.context.run(self.fn, *self.args, **self.kwargs)
        except BaseException as exc:
            self._record_run(perf_counter() - started, True)
            self._set_failed(exc, exc.__traceback__)
        else:
            try:
                recorder.record_run(perf_counter() - started, False)
            except Exception:
                LOG.exception(_RUN_NOT_COUNTED, self)
            future.set_result(result)

    def start(self) -> bool:
        """Mark the future running for a kind that runs the call elsewhere.

        Returns False (and counts the item as cancelled) when the future was cancelled first.
        """
        if self.future.set_running_or_notify_cancel():
            self._record_start(perf_counter() - self.accepted)
            return True
        self._record_cancelled()
        return False

    def finish(self, result: Any, runtime: float) -> None:
        """Complete a started item whose call ran elsewhere for ``runtime`` seconds."""
        self._record_run(runtime, False)
        self.future.set_result(result)

    def fail(
        self,
        exc: BaseException,
        runtime: float = 0.0,
        traceback: TracebackType | None = None,
    ) -> None:
        """Fail a started item whose call raised (or could not run) after ``runtime`` seconds."""
        self._record_run(runtime, True)
        self._set_failed(exc, traceback or exc.__traceback__)

    def _set_failed(self, exc: BaseException, traceback: TracebackType | None) -> None:
        """Fail the future; if the executor says so, a failure nobody reads gets logged."""
        recorder = self.recorder
        if recorder.log_unread_failures:
            unread = UnreadFailure(recorder.name, self.fn, exc, traceback)
            self.future.set_failure(exc, traceback, unread)
        else:
            self.future.set_exception_info(exc, traceback)

    def cancel(self) -> bool:
        """Cancel an item that never started; returns False if it had already started."""
        future = self.future
        if not future.cancel():
            return False
        # Move the future to its final cancelled state so every waiter is woken.
        future.set_running_or_notify_cancel()
        self._record_cancelled()
        return True

    # A statistics update that fails must not keep the future from ending, nor kill the worker
    # ending it: it is logged, and the figures miss that one call.

    def _record_start(self, queue_wait: float) -> None:
        try:
            self.recorder.record_start(queue_wait)
        except Exception:
            LOG.exception(_START_NOT_COUNTED, self)

    def _record_run(self, runtime: float, failed: bool) -> None:
        try:
            self.recorder.record_run(runtime, failed)
        except Exception:
            LOG.exception(_RUN_NOT_COUNTED, self)

    def _record_cancelled(self) -> None:
        try:
            self.recorder.record_cancelled()
        except Exception:
            LOG.exception("could not count %s as cancelled in the executor's statistics", self)

    def __repr__(self) -> str:
        return f"<WorkItem {callable_name(self.fn)}>"


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


def _check_callable(fn: object) -> None:
    """Raise ``TypeError`` naming ``fn`` unless ``submit`` can call it."""
    if not callable(fn):
        raise TypeError(f"submit() needs a callable, got {type(fn).__name__} {safe_repr(fn)}")


def _check_map_arguments(chunksize: object, buffersize: object) -> None:
    """Raise what Python 3.14's ``map`` raises for a bad ``chunksize`` or ``buffersize``.

    In its order and with its words first: the process pool compares ``chunksize`` with 1
    before using it (``0.5`` is a ``ValueError``, ``2.5`` a ``TypeError``); ``buffersize``'s type
    is checked first. A ``bool`` is refused, where the standard library takes ``True`` for 1
    (docs/differences.rst).
    """
    if isinstance(chunksize, numbers.Real) and not isinstance(chunksize, bool) and chunksize < 1:
        raise ValueError(f"chunksize must be >= 1, got {chunksize!r}")
    if isinstance(chunksize, bool) or not isinstance(chunksize, int):
        raise TypeError(
            f"chunksize must be an integer >= 1, got {type(chunksize).__name__} "
            f"{safe_repr(chunksize)}"
        )
    if buffersize is None:
        return
    if isinstance(buffersize, bool) or not isinstance(buffersize, int):
        raise TypeError(
            f"buffersize must be an integer or None, got {type(buffersize).__name__} "
            f"{safe_repr(buffersize)}"
        )
    if buffersize < 1:
        raise ValueError(f"buffersize must be None or > 0, got {buffersize}")


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


class Executor(concurrent.futures.Executor, abc.ABC):
    """Base of every futurist executor: the shared contract and its bookkeeping."""

    _future_class: type[Future[Any]] = Future
    """The future class ``submit`` returns (an instance may choose, e.g. green futures)."""
    _chunked_map: ClassVar[bool] = False
    """Whether ``map(chunksize > 1)`` batches calls (worth it where a call crosses a boundary)."""
    _tracks_items: ClassVar[bool] = False
    """Whether the kind implements ``_running_items``, ``_cancel_queued`` and ``_wait_idle``;
    if not, the base tracks every accepted item for ``drain`` (at some cost per call)."""
    kind: str = ""
    """The kind's plugin name, used in metrics and default names (the class name if empty).

    A class sets it; an instance may hold its own, as a wrapped plugin holds its plugin name."""
    _context_error: ClassVar[str] = ""
    """Why this kind cannot run calls in the submitter's context; empty when it can."""

    def __init__(
        self,
        check_and_reject: CheckAndReject | None = None,
        *,
        name: str | None = None,
        log_unread_failures: bool = True,
        propagate_context: bool = False,
    ) -> None:
        """``name`` names the executor in metrics, logs and thread names (default: the kind and
        a number); ``log_unread_failures`` logs the exception of a failed call whose future is
        collected without anyone reading it; ``propagate_context`` runs each call in a copy of
        the submitter's :mod:`contextvars` context."""
        self._check_and_reject = validate_check_and_reject(check_and_reject)
        kind = self.kind or type(self).__name__
        self._check_propagate_context(propagate_context)
        self._propagate_context = bool(propagate_context)
        self._recorder = StatisticsRecorder(
            executor_name(name, kind), kind, bool(log_unread_failures)
        )
        self._submit_lock = self._new_lock()
        self._shutdown_started = False
        self._flow: Flow | None = None
        if not self._tracks_items or getattr(check_and_reject, "waits_for_room", False):
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
    def _check_propagate_context(cls, propagate_context: bool) -> None:
        """Raise ``ValueError`` if ``propagate_context`` is asked of a kind that cannot."""
        if propagate_context and cls._context_error:
            raise ValueError(
                f"propagate_context=True is not possible with {cls.kind or cls.__name__}: "
                f"{cls._context_error}"
            )

    @property
    def alive(self) -> bool:
        """True until shutdown starts."""
        return not self._shutdown_started

    @property
    def statistics(self) -> ExecutorStatistics:
        """An immutable snapshot of what this executor has run so far."""
        return self._recorder.snapshot()

    @property
    def name(self) -> str:
        """The name this executor goes by in metrics, logs and its threads' names."""
        return self._recorder.name

    @property
    def metrics(self) -> ExecutorMetrics:
        """The live figures (backlog, running calls, workers, histograms), taken now."""
        statistics, started, rejected, run_time, queue_wait = self._recorder.figures()
        max_workers = getattr(self, "max_workers", None)
        return ExecutorMetrics(
            name=self._recorder.name,
            kind=self._recorder.kind,
            statistics=statistics,
            queued=self._backlog(),
            running=max(0, started - statistics.executed),
            workers=self._workers_now(),
            max_workers=max_workers if isinstance(max_workers, int) else None,
            rejected=rejected,
            run_time=run_time,
            queue_wait=queue_wait,
        )

    def submit(self, fn: Callable[..., _T], /, *args: Any, **kwargs: Any) -> Future[_T]:
        """Schedule ``fn(*args, **kwargs)`` and return the future of its result.

        Raises ``TypeError`` if ``fn`` is not callable, ``RuntimeError`` after shutdown, and
        whatever ``check_and_reject`` raises (usually ``RejectedSubmission``).
        """
        _check_callable(fn)
        with self._submit_lock:
            item = self._accept(fn, args, kwargs)
            if self._flow is not None:
                item = self._flow.adopt(item)
            run_here = self._dispatch(item)
        if run_here:
            self._run_here(item)
        return item.future

    def prioritized(self, priority: int) -> PrioritizedSubmitter:
        """A submitter whose ``submit`` gives its calls ``priority`` (an integer, default 0).

        Queued calls start highest priority first (Dask's convention), in submission order
        within one priority: ``executor.prioritized(10).submit(fn, *args, **kwargs)``. Kinds
        that run calls in the caller or in another executor accept the priority and ignore it.
        """
        return PrioritizedSubmitter(self, priority)

    def drain(self, timeout: float) -> set[concurrent.futures.Future[Any]]:
        """Shut down, waiting at most ``timeout`` seconds for the accepted calls to finish.

        Past the deadline, queued calls are cancelled and running ones stopped where the kind
        can (their futures fail with :class:`~futurist.CallStopped`); elsewhere they run on.
        Returns the futures not finished at the deadline (empty if everything finished).
        """
        from futurist.executors._flow import drain

        return drain(self, timeout)

    def stop(self, future: concurrent.futures.Future[Any]) -> None:
        """Stop the call of ``future``, which this executor accepted and has not finished.

        A queued call is cancelled; a running one is stopped where the kind can (its future
        fails with :class:`~futurist.CallStopped`). Raises ``TypeError`` for a non-future,
        ``ValueError`` for a finished future or another executor's, and
        :class:`~futurist.StopNotSupported` where the kind cannot stop calls.
        """
        if not isinstance(future, concurrent.futures.Future):
            raise TypeError(
                f"stop() needs a future this executor returned, got {type(future).__name__} "
                f"{future!r}"
            )
        if future.done():
            raise ValueError(f"cannot stop {future!r}: it is already done; only unfinished calls")
        if not self._stop_call(future):
            raise ValueError(
                f"cannot stop {future!r}: {type(self).__name__} did not accept it, or no longer "
                "holds it; only futures this executor returned can be stopped here"
            )

    def terminate_workers(self) -> None:
        """Shut down at once: cancel queued calls and stop running ones (as Python 3.14's
        ``ProcessPoolExecutor.terminate_workers``: processes get SIGTERM).

        Raises :class:`~futurist.StopNotSupported`, changing nothing, where the kind cannot.
        """
        self._end_workers(kill=False)

    def kill_workers(self) -> None:
        """Like :meth:`terminate_workers`, but processes get SIGKILL (Python 3.14's meaning)."""
        self._end_workers(kill=True)

    def _submit_prioritized(
        self, priority: int, fn: Callable[..., _T], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Future[_T]:
        """``submit`` with a priority; the kind switches to priority order on first use."""
        _check_callable(fn)
        with self._submit_lock:
            item = self._accept(fn, args, kwargs)
            item = self._adopt_prioritized(item, priority)
            run_here = self._dispatch(item)
        if run_here:
            self._run_here(item)
        return item.future

    def _adopt_prioritized(self, item: WorkItem, priority: int) -> WorkItem:
        """Give an accepted item its priority (with the submit lock held)."""
        flow = self._flow
        if flow is None or not flow.ranked:
            flow = flow or self._start_flow()
            flow.ranked = True
            self._use_priorities()
        if flow.reports:
            return flow.adopt(item, priority)
        item.priority = priority
        return item

    def _start_flow(self) -> Flow:
        from futurist.executors._flow import Flow

        waits = getattr(self._check_and_reject, "waits_for_room", False)
        self._flow = Flow(self._new_lock(), track=not self._tracks_items, waits=waits)
        return self._flow

    def _accept(
        self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> WorkItem:
        """Admit one call (alive? ``check_and_reject``) as a work item; needs the submit lock.

        Raises ``RuntimeError`` after shutdown and whatever ``check_and_reject`` raises.
        """
        if self._shutdown_started:
            raise RuntimeError(
                f"cannot schedule new futures after shutdown: {type(self).__name__} has been "
                f"shut down, so {callable_name(fn)} was not accepted"
            )
        if _interpreter_exiting:
            raise RuntimeError(
                "cannot schedule new futures after interpreter shutdown: the interpreter is "
                f"exiting, so {type(self).__name__} did not accept {callable_name(fn)}"
            )
        if self._check_and_reject is not None:
            try:
                self._check_and_reject(self, self._backlog())
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
        self._stop(wait, cancel_futures)

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
        submitted at once. ``timeout`` bounds the whole iteration, from this call on.
        """
        _check_map_arguments(chunksize, buffersize)
        deadline = None if timeout is None else time.monotonic() + timeout
        arguments = zip(*iterables, strict=False)
        if chunksize > 1 and self._chunked_map:
            calls = ((_call_batch, fn, batch) for batch in _batches(arguments, chunksize))
            return _unbatched(_ordered_results(self, calls, deadline, buffersize))
        return _ordered_results(self, ((fn, *args) for args in arguments), deadline, buffersize)

    @abc.abstractmethod
    def _backlog(self) -> int:
        """How many accepted items are waiting for a worker (what ``check_and_reject`` sees)."""

    @abc.abstractmethod
    def _dispatch(self, item: WorkItem) -> bool:
        """Hand an accepted item to the workers; called with the submit lock held.

        Returns True when the item is to run in the caller instead, once the lock is released.
        """

    @abc.abstractmethod
    def _stop(self, wait: bool, cancel_futures: bool) -> None:
        """Finish a shutdown once the base has stopped accepting work; must be idempotent."""

    def _use_priorities(self) -> None:
        """Called once, with the submit lock held, before the first prioritized item is
        dispatched.

        A kind that queues calls switches its queue to priority order here and from then on
        orders items by ``priority_of(item)``; by default calls run in the kind's own order
        (the kind ignores priorities).
        """

    def _in_own_worker(self) -> bool:
        """Whether the caller runs in one of this executor's workers (waiting there for room
        could deadlock); by default, whether this thread runs one of its calls now."""
        return self._flow is not None and self._flow.running_here()

    def _running_items(self) -> list[WorkItem]:
        """The items running now (``drain`` reports them); by default from the base's tracking."""
        assert self._flow is not None
        return [item for item in self._flow.tracked_items() if item.future.running()]

    def _cancel_queued(self) -> list[WorkItem]:
        """Cancel every item not started yet and return them (``drain`` past its deadline)."""
        assert self._flow is not None
        queued = [item for item in self._flow.tracked_items() if not item.future.running()]
        self._stop(False, True)
        return [item for item in queued if item.future.cancelled()]

    def _wait_idle(self, timeout: float) -> bool:
        """After shutdown started: wait up to ``timeout`` seconds for every accepted item to
        end; True if they all did."""
        assert self._flow is not None
        return self._flow.wait_idle(timeout)

    def _stop_call(self, future: concurrent.futures.Future[Any]) -> bool:
        """Stop the unfinished call of ``future``; False if it is not this executor's.

        By default the kind cannot stop calls: :class:`~futurist.StopNotSupported`, unless the
        future is running and not one of this executor's calls.
        """
        from futurist.executors._flow import cannot_stop

        if future.running() and all(item.future is not future for item in self._running_items()):
            return False
        raise cannot_stop(self, "stop a call")

    def _end_workers(self, kill: bool) -> None:
        """``terminate_workers``/``kill_workers``; by default the kind cannot."""
        from futurist.executors._flow import cannot_stop

        raise cannot_stop(self, "kill_workers()" if kill else "terminate_workers()")

    def _new_lock(self) -> threading.Lock:
        """The lock guarding submission and shutdown; green kinds return a green lock.

        Under eventlet a green thread waiting on a native lock blocks the whole hub, so the
        holder (which may yield in ``check_and_reject``) could never release it.
        """
        return threading.Lock()

    def _workers_now(self) -> int:
        """How many workers (threads, processes, green threads) the executor has now."""
        workers = getattr(self, "num_workers", 0)
        return workers if isinstance(workers, int) else 0

    def _run_here(self, item: WorkItem) -> None:
        """Run an item that ``_dispatch`` kept for the caller, with the submit lock released."""
        item.run()

    def _on_interpreter_exit(self) -> None:
        """Let accepted work finish as the interpreter exits; nothing new is accepted."""
        self.shutdown(wait=False)

    def __repr__(self) -> str:
        state = "alive" if self.alive else "shut down"
        return f"<{type(self).__name__} {self.name!r} {state} at {id(self):#x}>"


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


def _call_batch(fn: Callable[..., _T], batch: tuple[tuple[Any, ...], ...]) -> list[_T]:
    """Run ``fn`` over one batch of argument tuples (``map`` with ``chunksize``).

    The results come back last first, so the caller pops them off in input order.
    """
    results = [fn(*args) for args in batch]
    results.reverse()
    return results


def _batches(
    arguments: Iterator[tuple[Any, ...]], size: int
) -> Iterator[tuple[tuple[Any, ...], ...]]:
    while batch := tuple(itertools.islice(arguments, size)):
        yield batch


def _unbatched(batches: Generator[list[Any]]) -> Iterator[Any]:
    """Yield the results of each batch in order, each leaving its batch as it is yielded.

    Closing this generator closes ``batches``, which cancels the calls still outstanding.
    """
    with contextlib.closing(batches):
        for batch in batches:
            while batch:
                yield batch.pop()


def _ordered_results(
    executor: Executor,
    calls: Iterator[tuple[Any, ...]],
    deadline: float | None,
    buffersize: int | None,
) -> Generator[Any]:
    """Submit ``calls`` (eagerly, or ``buffersize`` ahead) and yield their results in order.

    Each result goes straight from its future to the caller: the generator keeps no reference
    to what it yielded, nor to the future it came from, so a result the caller drops is freed.
    """
    first = calls if buffersize is None else itertools.islice(calls, buffersize)
    pending = collections.deque(executor.submit(*call) for call in first)
    owner = weakref.ref(executor)
    del executor

    def refilled(value: Any) -> Any:
        """Submit the next call (if the executor still exists), then pass ``value`` on."""
        live = owner()
        if live is not None and (call := next(calls, None)) is not None:
            pending.append(live.submit(*call))
        return value

    def results() -> Generator[Any]:
        try:
            if buffersize is None:
                while pending:
                    yield _result_or_cancel(pending.popleft(), deadline)
            else:
                while pending:
                    yield refilled(_result_or_cancel(pending.popleft(), deadline))
        finally:
            for future in pending:
                future.cancel()

    return results()


def _result_or_cancel(future: concurrent.futures.Future[Any], deadline: float | None) -> Any:
    """The future's result within the deadline; on any way out, the future is cancelled."""
    try:
        if deadline is None:
            return future.result()
        return future.result(deadline - time.monotonic())
    finally:
        future.cancel()
        # A failure's traceback holds this frame: let go of the future that holds the failure.
        del future


_live_executors: weakref.WeakSet[Executor] = weakref.WeakSet()
_interpreter_exiting = False


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


def _forget_inherited_executors() -> None:
    """In a forked child, executors copied from the parent own no workers: exit skips them.

    Shutting them down there could also block forever on a lock another parent thread held
    at the moment of the fork.
    """
    _live_executors.clear()


os.register_at_fork(after_in_child=_forget_inherited_executors)
# Runs before the interpreter joins non-daemon threads, as the standard library's pools do.
# Those hooks run last-registered first: registering after the standard library's thread pool
# module lets our executors finish their work while the pools they rely on (Dask uses them)
# still accept it.
importlib.import_module("concurrent.futures.thread")
getattr(threading, "_register_atexit")(_at_interpreter_exit)  # noqa: B009
