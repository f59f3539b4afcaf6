"""The executor contract, implemented once for every kind.

A kind subclasses :class:`Executor` and supplies three things: ``_dispatch`` (hand an accepted
:class:`WorkItem` to its workers, or keep it to run in the caller), ``_backlog`` (how many
items wait for a worker) and ``_stop`` (finish the shutdown the base has started). Everything
else -- argument checks, the shutdown flag, ``check_and_reject``, statistics, ``map`` with
``buffersize``, interpreter exit -- lives here.

How a submission flows::

    submit(fn)  --checks-->  [submit lock: alive? check_and_reject(backlog)]
                             --> WorkItem(future, fn)  --_dispatch-->  kind's queue
    worker:  item.run()  -->  start (or count as cancelled) --> call fn --> record --> set future
"""

from __future__ import annotations

import abc
import collections
import concurrent.futures
import contextvars
import importlib
import itertools
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator
from time import perf_counter
from types import TracebackType
from typing import Any, ClassVar, TypeVar

from futurist.futures import Future, UnreadFailure
from futurist.metrics import ExecutorMetrics
from futurist.statistics import ExecutorStatistics, StatisticsRecorder

__all__ = [
    "CheckAndReject",
    "Executor",
    "WorkItem",
    "validate_check_and_reject",
    "validate_max_workers",
]

_T = TypeVar("_T")

CheckAndReject = Callable[[Any, int], None]
"""``check_and_reject(executor, backlog)``: raise ``RejectedSubmission`` to refuse a submission."""


class WorkItem:
    """One accepted call: its future, the call itself, and the recorder that counts it.

    Every path that ends a work item (run, cancel, fail) goes through a method here, so each
    accepted future reaches exactly one terminal state and is counted exactly once. ``accepted``
    is when it was accepted (``perf_counter``), to measure its queue wait; ``context``, if set,
    is the context the call runs in.
    """

    __slots__ = ("accepted", "args", "context", "fn", "future", "kwargs", "recorder")

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
        recorder.record_start(started - self.accepted)
        try:
            if self.context is None:
                result = self.fn(*self.args, **self.kwargs)
            else:
                result = self.context.run(self.fn, *self.args, **self.kwargs)
        except BaseException as exc:
            recorder.record_run(perf_counter() - started, True)
            self._set_failed(exc, exc.__traceback__)
        else:
            recorder.record_run(perf_counter() - started, False)
            future.set_result(result)

    def start(self) -> bool:
        """Mark the future running for a kind that runs the call elsewhere.

        Returns False (and counts the item as cancelled) when the future was cancelled first.
        """
        if self.future.set_running_or_notify_cancel():
            self.recorder.record_start(perf_counter() - self.accepted)
            return True
        self.recorder.record_cancelled()
        return False

    def finish(self, result: Any, runtime: float) -> None:
        """Complete a started item whose call ran elsewhere for ``runtime`` seconds."""
        self.recorder.record_run(runtime, False)
        self.future.set_result(result)

    def fail(
        self,
        exc: BaseException,
        runtime: float = 0.0,
        traceback: TracebackType | None = None,
    ) -> None:
        """Fail a started item whose call raised (or could not run) after ``runtime`` seconds."""
        self.recorder.record_run(runtime, True)
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
        self.recorder.record_cancelled()
        return True


def validate_max_workers(value: object, default: int, name: str = "max_workers") -> int:
    """Return ``value`` as a worker count (``default`` when None) or raise a clear error."""
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    if value <= 0:
        raise ValueError(f"{name} must be at least 1, got {value}")
    return value


def validate_check_and_reject(value: object) -> CheckAndReject | None:
    """Return ``value`` if it is None or callable, else raise ``TypeError`` naming it."""
    if value is not None and not callable(value):
        raise TypeError(
            "check_and_reject must be a callable taking (executor, backlog) or None, "
            f"got {type(value).__name__} {value!r}"
        )
    return value


class Executor(concurrent.futures.Executor, abc.ABC):
    """Base of every futurist executor: the shared contract and its bookkeeping."""

    _future_class: type[Future[Any]] = Future
    """The future class ``submit`` returns (an instance may choose, e.g. green futures)."""
    _chunked_map: ClassVar[bool] = False
    """Whether ``map(chunksize > 1)`` batches calls (worth it where a call crosses a boundary)."""
    kind: ClassVar[str] = ""
    """The kind's plugin name, used in metrics and default names (the class name if empty)."""
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
            _validate_name(name, kind), kind, bool(log_unread_failures)
        )
        self._submit_lock = self._new_lock()
        self._shutdown_started = False
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
        if not callable(fn):
            raise TypeError(f"submit() needs a callable, got {type(fn).__name__} {fn!r}")
        with self._submit_lock:
            item = self._accept(fn, args, kwargs)
            run_here = self._dispatch(item)
        if run_here:
            self._run_here(item)
        return item.future

    def _accept(
        self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> WorkItem:
        """Admit one call (alive? ``check_and_reject``) as a work item; needs the submit lock.

        Raises ``RuntimeError`` after shutdown and whatever ``check_and_reject`` raises.
        """
        if self._shutdown_started:
            raise RuntimeError(
                f"cannot submit {_name_of(fn)} to {type(self).__name__}: it has been shut down"
            )
        if _interpreter_exiting:
            raise RuntimeError(
                f"cannot submit {_name_of(fn)} to {type(self).__name__}: "
                "the interpreter is shutting down"
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
        if isinstance(chunksize, bool) or not isinstance(chunksize, int):
            raise TypeError(f"chunksize must be an integer, got {type(chunksize).__name__}")
        if chunksize < 1:
            raise ValueError(f"chunksize must be >= 1, got {chunksize}")
        if buffersize is not None:
            if isinstance(buffersize, bool) or not isinstance(buffersize, int):
                raise TypeError(
                    f"buffersize must be an integer or None, got {type(buffersize).__name__}"
                )
            if buffersize < 1:
                raise ValueError(f"buffersize must be None or >= 1, got {buffersize}")
        deadline = None if timeout is None else time.monotonic() + timeout
        arguments = zip(*iterables, strict=False)
        if chunksize > 1 and self._chunked_map:
            calls = ((_call_batch, fn, batch) for batch in _batches(arguments, chunksize))
            batches = _ordered_results(self, calls, deadline, buffersize)
            return itertools.chain.from_iterable(batches)
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


_name_numbers: collections.Counter[str] = collections.Counter()
_name_lock = threading.Lock()


def _validate_name(name: object, kind: str) -> str:
    """``name`` if it is a non-empty str; when None, the kind and the next number for it."""
    if name is None:
        with _name_lock:
            number = _name_numbers[kind]
            _name_numbers[kind] += 1
        return f"{kind}-{number}"
    if not isinstance(name, str):
        raise TypeError(f"name must be a str or None, got {type(name).__name__} {name!r}")
    if not name:
        raise ValueError("name must not be empty; pass None for the kind and a number")
    return name


def _name_of(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__qualname__", None) or repr(fn)


def _call_batch(fn: Callable[..., _T], batch: tuple[tuple[Any, ...], ...]) -> list[_T]:
    """Run ``fn`` over one batch of argument tuples (``map`` with ``chunksize``)."""
    return [fn(*args) for args in batch]


def _batches(
    arguments: Iterator[tuple[Any, ...]], size: int
) -> Iterator[tuple[tuple[Any, ...], ...]]:
    while batch := tuple(itertools.islice(arguments, size)):
        yield batch


def _ordered_results(
    executor: Executor,
    calls: Iterator[tuple[Any, ...]],
    deadline: float | None,
    buffersize: int | None,
) -> Iterator[Any]:
    """Submit ``calls`` (eagerly, or ``buffersize`` ahead) and yield their results in order."""
    first = calls if buffersize is None else itertools.islice(calls, buffersize)
    pending = collections.deque(executor.submit(*call) for call in first)
    owner = weakref.ref(executor)
    del executor

    def results() -> Iterator[Any]:
        try:
            while pending:
                value = _result_or_cancel(pending.popleft(), deadline)
                if buffersize is not None:
                    live = owner()
                    call = next(calls, None) if live is not None else None
                    if live is not None and call is not None:
                        pending.append(live.submit(*call))
                    del live
                yield value
                del value
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


_live_executors: weakref.WeakSet[Executor] = weakref.WeakSet()
_interpreter_exiting = False


def _at_interpreter_exit() -> None:
    """Refuse new work and let each live executor finish what it accepted."""
    global _interpreter_exiting
    _interpreter_exiting = True
    for executor in list(_live_executors):
        executor._on_interpreter_exit()


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
