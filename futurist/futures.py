"""Futures: the standard library's, plus the traceback of a failure, and green futures.

Every submit creates a future, so :class:`Future` takes three shortcuts through CPython's
``concurrent.futures`` internals: it sets the standard state itself instead of calling
``Future.__init__``, its condition is a ``_thread.RLock`` subclass, and ``result()`` of a
finished future reads the state without the lock. Measured interleaved on 2 cores, a future's
whole life (create, start, set a result, read it twice) costs 0.42x the standard library's
(11.7 us against 28.0 us). ``tests/test_future_internals.py`` fails on any Python whose
standard library renames or adds the state those shortcuts assume.
"""

from __future__ import annotations

import _thread
import logging
import threading
from collections.abc import Callable
from concurrent.futures import CancelledError, TimeoutError
from concurrent.futures import Future as _StdFuture
from concurrent.futures._base import FINISHED, PENDING, RUNNING
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from futurist._eventlet import green_condition
from futurist.naming import callable_name

if TYPE_CHECKING:
    from futurist.statistics import StatisticsRecorder

__all__ = ["CancelledError", "Future", "GreenFuture", "TimeoutError"]

_T = TypeVar("_T")

LOG = logging.getLogger(__name__)


_NATIVE_RLOCK = threading.RLock


class _FutureCondition(_thread.RLock):  # type: ignore[misc]
    """A condition variable that is its own re-entrant lock: one C object, cheap to create.

    Every future owns one, so its cost is paid on every submit. The standard library builds a
    :class:`threading.Condition` around an ``RLock`` in Python (about half the cost of a
    whole submit of the synchronous executor); this one is the lock itself, and takes a list
    of waiters only when a thread actually waits for the future.
    """

    _waiters: list[Any] | None = None

    def wait(self, timeout: float | None = None) -> bool:
        """Release the lock until notified (or ``timeout`` seconds pass), then take it back."""
        if not self._is_owned():  # type: ignore[attr-defined]
            raise RuntimeError("cannot wait on un-acquired lock")
        waiter = _thread.allocate_lock()
        waiter.acquire()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(waiter)
        saved = self._release_save()  # type: ignore[attr-defined]
        notified = False
        try:
            if timeout is None:
                notified = waiter.acquire()
            elif timeout > 0:
                notified = waiter.acquire(True, timeout)
            else:
                notified = waiter.acquire(False)
            return notified
        finally:
            self._acquire_restore(saved)  # type: ignore[attr-defined]
            if not notified and self._waiters is not None and waiter in self._waiters:
                self._waiters.remove(waiter)

    def notify(self, n: int = 1) -> None:
        """Wake up to ``n`` threads waiting on this condition; the lock must be held."""
        if not self._is_owned():  # type: ignore[attr-defined]
            raise RuntimeError("cannot notify on un-acquired lock")
        waiters = self._waiters
        while waiters and n > 0:
            waiters.pop(0).release()
            n -= 1

    def notify_all(self) -> None:
        """Wake every thread waiting on this condition; the lock must be held."""
        waiters = self._waiters
        if waiters:
            self.notify(len(waiters))


class UnreadFailure:
    """Logs a call's exception when collected, unless someone read it first (``armed`` off).

    A failed future holds one until its exception is read; when the future is garbage
    collected, so is this, and an unread failure is logged once, at ERROR, with its traceback
    (as asyncio does for tasks). Succeeded futures never have one, so they pay nothing.
    """

    __slots__ = ("armed", "call", "exception", "executor", "traceback")

    def __init__(
        self,
        executor: str,
        call: Callable[..., Any],
        exception: BaseException,
        traceback: TracebackType | None,
    ) -> None:
        self.armed = True
        self.executor = executor
        self.call = call
        self.exception = exception
        self.traceback = traceback

    def __del__(self) -> None:
        if self.armed:
            call = callable_name(self.call)
            LOG.error(
                "executor %r: call %s failed and nobody read its exception "
                "(result(), exception(), exception_info() or a done callback)",
                self.executor,
                call,
                exc_info=(type(self.exception), self.exception, self.traceback),
            )


class _MachineryCallback:
    """A done callback futurist's own machinery registered: it reads no failure for anyone."""

    __slots__ = ("fn",)

    def __init__(self, fn: Callable[[Any], object]) -> None:
        self.fn = fn

    def __call__(self, future: Any) -> None:
        self.fn(future)


class _MadeOnFirstRead:
    """A future's lock or list, made when something first reads it instead of with the future.

    Only a future made running by its caller (:class:`_MadeRunning`) starts without them;
    the first reader makes the object, and two first readers racing get the same one
    (``setdefault`` on the future's own ``__dict__``, where later reads find it directly).
    """

    __slots__ = ("make", "name")

    def __init__(self, make: Callable[[Future[Any]], object]) -> None:
        self.make = make
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, future: Any, owner: type | None = None) -> Any:
        if future is None:
            return self
        made = future.__dict__.setdefault(self.name, self.make(future))
        future._lock_made = True
        return made


class Future(_StdFuture[_T]):
    """A :class:`concurrent.futures.Future` that also keeps the traceback of its failure.

    It waits on a cheaper condition than the standard library's (see ``_FutureCondition``)
    unless eventlet has monkey patched threading: its green ``RLock`` is then used, as the
    standard future would.
    """

    _traceback: TracebackType | None = None
    _unread: UnreadFailure | None = None
    _lock_made = True
    """Whether this future has its lock, which other threads may hold or wait on: always,
    but for a future made running by its caller until something reads it (see
    :class:`_MadeRunning`)."""
    _made_running: ClassVar[type[Future[Any]]]
    """The class of this class's futures made running by their caller (``_MadeRunning``)."""
    _recorder: StatisticsRecorder
    """Set by the executor that accepted this future's call: the statistics that count it,
    and how ``Executor.stop`` knows its own futures. Absent on a future made by hand."""

    def __init__(self) -> None:
        if threading.RLock is not _NATIVE_RLOCK:
            super().__init__()
            return
        # The same state as the standard library's __init__, with the cheaper condition.
        self._condition = _FutureCondition()  # type: ignore[assignment]
        self._state = PENDING
        self._result = None
        self._exception = None
        self._waiters = []
        self._done_callbacks: list[Any] = []

    @classmethod
    def _new_condition(cls) -> Any:
        """The condition a future of this class waits on."""
        if threading.RLock is _NATIVE_RLOCK:
            return _FutureCondition()
        return threading.Condition()

    def _wake_readers(self) -> None:
        """Wake whoever waits on a future made running by its caller (:class:`_MadeRunning`),
        just finished by the thread that ran its call, and run its done callbacks.

        That thread sets the result and state before it looks at ``_lock_made``: whoever makes
        the lock after that look reads the state finished and does not wait; whoever made it
        before is woken here, under it, as ``set_result`` would wake them.
        """
        with self._condition:
            for waiter in self._waiters:
                waiter.add_result(self)
            self._condition.notify_all()
        self._invoke_callbacks()  # type: ignore[attr-defined]

    def result(self, timeout: float | None = None) -> _T:
        """The call's result, as :meth:`concurrent.futures.Future.result`.

        A future that succeeded is answered without taking its lock: its state never changes
        again once finished, and the result is stored before the state says so.
        """
        if self._state == FINISHED and self._exception is None:
            return self._result  # type: ignore[return-value]
        try:
            return super().result(timeout)
        except BaseException as exc:
            if exc is self._exception:
                self._note_read()
            raise

    def exception(self, timeout: float | None = None) -> BaseException | None:
        """The call's exception, as :meth:`concurrent.futures.Future.exception`."""
        exc = super().exception(timeout)
        self._note_read()
        return exc

    def add_done_callback(self, fn: Callable[[Any], object]) -> None:
        """As :meth:`concurrent.futures.Future.add_done_callback`; the callback reads a failure."""
        super().add_done_callback(fn)
        self._note_read()

    def _add_machinery_callback(self, fn: Callable[[Any], object]) -> None:
        """Add a done callback for futurist's own bookkeeping (a delayed call's scheduler, say).

        Unlike :meth:`add_done_callback` it is not a reader: a failure nobody else reads is
        still reported.
        """
        _StdFuture.add_done_callback(self, _MachineryCallback(fn))

    def _note_read(self) -> None:
        """Someone has seen how the call ended: its failure, if any, is not to be reported."""
        unread = self._unread
        if unread is not None:
            unread.armed = False

    def exception_info(
        self, timeout: float | None = None
    ) -> tuple[BaseException | None, TracebackType | None]:
        """Wait like ``exception()`` and return ``(exception, traceback)``.

        Both are ``None`` when the call succeeded. Raises ``CancelledError`` if the future was
        cancelled and ``TimeoutError`` if it is not done within ``timeout`` seconds.
        """
        exc = self.exception(timeout)
        if exc is None:
            return None, None
        return exc, self._traceback if self._traceback is not None else exc.__traceback__

    def set_exception_info(self, exception: BaseException, traceback: TracebackType | None) -> None:
        """Finish the future with ``exception`` and the ``traceback`` it was raised with."""
        self._traceback = traceback
        self.set_exception(exception)

    def set_failure(
        self, exception: BaseException, traceback: TracebackType | None, unread: UnreadFailure
    ) -> None:
        """Fail like :meth:`set_exception_info`, reporting the failure if nobody reads it.

        ``unread`` is kept only if no done callback but the machinery's is registered yet (a
        later one, or any read, disarms it); it is in place before the future is done, so no
        reader misses it.
        """
        with self._condition:
            if self._state in (PENDING, RUNNING) and all(
                isinstance(callback, _MachineryCallback) for callback in self._done_callbacks
            ):
                self._unread = unread
            else:
                unread.armed = False
        self.set_exception_info(exception, traceback)


class GreenFuture(Future[_T]):
    """A :class:`Future` whose waiting (``result``, ``exception``, waiters) yields to eventlet.

    Waiting on a plain future from a green thread blocks the whole hub, so nothing else runs;
    a green future waits on a green condition instead. Creating one without eventlet installed
    raises ``ImportError`` (a ``RuntimeError`` too, as in futurist 3.5) saying
    ``pip install eventlet``.
    """

    def __init__(self) -> None:
        super().__init__()
        self._condition = green_condition()

    @classmethod
    def _new_condition(cls) -> Any:
        """A green condition: waiting on it yields to the eventlet hub."""
        return green_condition()


class _MadeRunning:
    """What a future made running by its own caller has: its call runs before anyone else
    can see it, so it needs no start transition, and its lock and lists are made only if
    another thread reads them while the call runs (``drain`` hands out running futures).
    Made by the type alone (no ``__init__`` runs), it starts running with no result.

    Mixed into :class:`Future` and :class:`GreenFuture` as their subclasses below, which
    keep their parent's name, so a user sees the future they expect. The lazily made
    attributes live on these subclasses only: on :class:`Future` itself they would slow
    every attribute read of every other future.
    """

    __init__ = object.__init__
    _state = RUNNING
    _result: Any = None
    _exception: BaseException | None = None
    _lock_made = False
    _condition = _MadeOnFirstRead(lambda future: future._new_condition())
    _waiters = _MadeOnFirstRead(lambda future: [])
    _done_callbacks = _MadeOnFirstRead(lambda future: [])


class _CallerFuture(_MadeRunning, Future[_T]):
    __doc__ = Future.__doc__


class _GreenCallerFuture(_MadeRunning, GreenFuture[_T]):
    __doc__ = GreenFuture.__doc__


Future._made_running = _CallerFuture
GreenFuture._made_running = _GreenCallerFuture
_CallerFuture.__name__ = _CallerFuture.__qualname__ = Future.__name__
_GreenCallerFuture.__name__ = _GreenCallerFuture.__qualname__ = GreenFuture.__name__
