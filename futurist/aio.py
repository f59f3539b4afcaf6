"""Async code awaiting any executor: :class:`AsyncExecutor` and :func:`unwrap_future`.

Blocking work (CPU, legacy clients, files) runs in a :class:`concurrent.futures.Executor` --
futurist's, the standard library's or a plugin's -- while an asyncio or trio task awaits it
without blocking its event loop.

How a call flows::

    await run(fn)  --copy context-->  executor.submit(ctx.run, fn)  -->  concurrent Future
         |                                                                    |
         | waits on a loop-native event            the future's done callback, in the worker:
         +<------------------------------------  call_soon_threadsafe / run_sync_soon wakes it
    task cancelled while waiting  -->  future.cancel(): a call not yet started never runs;
                                       a running call finishes and its result is dropped

Nothing here keeps per-loop state, so one :class:`AsyncExecutor` serves several event loops in
several threads at once. trio is imported only when it is used.
"""

from __future__ import annotations

import abc
import asyncio
import collections
import concurrent.futures
import contextlib
import contextvars
import functools
import itertools
import os
import sys
import threading
from collections.abc import AsyncGenerator, Callable, Iterable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, ParamSpec, TypeVar, cast

from futurist.extras import import_extra

if TYPE_CHECKING:
    import trio

__all__ = ["BACKENDS", "AsyncExecutor", "BackendName", "default_buffer_size", "unwrap_future"]

_T = TypeVar("_T")
_P = ParamSpec("_P")
_E = TypeVar("_E", bound=concurrent.futures.Executor)

BackendName = Literal["asyncio", "trio"]
"""The async libraries :class:`AsyncExecutor` and :func:`unwrap_future` work with."""

BACKENDS: tuple[BackendName, ...] = ("asyncio", "trio")
"""Every valid ``backend`` value (besides ``None``, which detects the running library)."""

_Submit = Callable[..., "concurrent.futures.Future[Any]"]


class _Backend(abc.ABC):
    """What an async library must provide: await a concurrent future, cancelling it if abandoned."""

    __slots__ = ()

    name: ClassVar[BackendName]

    @abc.abstractmethod
    def is_running(self) -> bool:
        """Whether the current thread is inside a task of this library."""

    @abc.abstractmethod
    async def call(self, submit: _Submit, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Submit with ``submit(*args, **kwargs)`` and await the future it returns."""

    @abc.abstractmethod
    async def wait(self, future: concurrent.futures.Future[_T]) -> _T:
        """Await ``future``; if the wait is abandoned (cancelled), cancel the future."""


class _AsyncioBackend(_Backend):
    """asyncio: the worker wakes the task with ``loop.call_soon_threadsafe``."""

    __slots__ = ()

    name = "asyncio"

    def is_running(self) -> bool:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return False
        return True

    async def call(self, submit: _Submit, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        return await self.wait(submit(*args, **kwargs))

    async def wait(self, future: concurrent.futures.Future[_T]) -> _T:
        if not future.done():
            loop = asyncio.get_running_loop()
            waiter: asyncio.Future[None] = loop.create_future()
            future.add_done_callback(functools.partial(_wake_asyncio, loop, waiter))
            try:
                await waiter
            except BaseException:
                future.cancel()
                raise
        return future.result()


def _wake_asyncio(loop: asyncio.AbstractEventLoop, waiter: asyncio.Future[None], _: object) -> None:
    # A closed loop has no task left to wake: the result simply stays in the future.
    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(_set_waiter, waiter)


def _set_waiter(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class _TrioBackend(_Backend):
    """trio: the worker wakes the task through the run's ``TrioToken``."""

    __slots__ = ()

    name = "trio"

    def is_running(self) -> bool:
        import trio

        return trio.lowlevel.in_trio_task()

    async def call(self, submit: _Submit, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        import trio

        # Nothing is submitted from an already cancelled scope.
        await trio.lowlevel.checkpoint_if_cancelled()
        return await self._wait_submitted(submit(*args, **kwargs))

    async def wait(self, future: concurrent.futures.Future[_T]) -> _T:
        import trio

        try:
            await trio.lowlevel.checkpoint_if_cancelled()
        except BaseException:
            future.cancel()
            raise
        return await self._wait_submitted(future)

    async def _wait_submitted(self, future: concurrent.futures.Future[_T]) -> _T:
        import trio

        if future.done():
            await trio.lowlevel.cancel_shielded_checkpoint()
            return future.result()
        event = trio.Event()
        token = trio.lowlevel.current_trio_token()
        future.add_done_callback(functools.partial(_wake_trio, token, event))
        try:
            await event.wait()
        except BaseException:
            future.cancel()
            raise
        return future.result()


def _wake_trio(token: trio.lowlevel.TrioToken, event: trio.Event, _: object) -> None:
    import trio

    # A finished run has no task left to wake: the result simply stays in the future.
    with contextlib.suppress(trio.RunFinishedError):
        token.run_sync_soon(event.set)


_ASYNCIO = _AsyncioBackend()
_TRIO = _TrioBackend()


def _require_trio() -> None:
    """Import trio, or explain which extra brings it."""
    import_extra("trio", "backend='trio' needs", "trio")


def _backend_named(name: object) -> _Backend | None:
    """The backend for a ``backend`` argument (None: detect at each use), or a clear error."""
    if name is None:
        return None
    if name == "asyncio":
        return _ASYNCIO
    if name == "trio":
        _require_trio()
        return _TRIO
    raise ValueError(
        f"backend must be one of {', '.join(map(repr, BACKENDS))} or None, got {name!r}"
    )


def _running_backend() -> _Backend | None:
    """The backend of the async library running the current task, if any."""
    if _ASYNCIO.is_running():
        return _ASYNCIO
    trio = sys.modules.get("trio")
    if trio is not None and trio.lowlevel.in_trio_task():
        return _TRIO
    return None


def _resolve(chosen: _Backend | None) -> _Backend:
    """The backend to await with now: the chosen one, checked, or the detected one."""
    if chosen is not None and chosen.is_running():
        return chosen
    running = _running_backend()
    if chosen is None and running is not None:
        return running
    found = "no async library is running" if running is None else f"{running.name} is running"
    if chosen is None:
        raise RuntimeError(
            f"futurist.aio needs a running asyncio or trio task, but {found} in thread "
            f"{threading.current_thread().name!r}; await it from inside asyncio.run() or "
            "trio.run()"
        )
    suggestion = None if running is None else running.name
    raise RuntimeError(
        f"backend={chosen.name!r} was chosen, but {found} in thread "
        f"{threading.current_thread().name!r}; pass backend={suggestion!r} "
        "or await it from the library you chose"
    )


def default_buffer_size(executor: concurrent.futures.Executor) -> int:
    """``map``'s default bound: the executor's worker count if it tells one, else 2 x CPUs."""
    for attribute in ("max_workers", "_max_workers"):
        value = getattr(executor, attribute, None)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return 2 * (os.cpu_count() or 1)


class AsyncExecutor(Generic[_E]):
    """Lets asyncio or trio code await calls run by any :class:`concurrent.futures.Executor`.

    ``backend`` is ``'asyncio'``, ``'trio'`` or ``None`` (detect the running library at each
    call, so one instance may serve several event loops). With ``handle_contexts=True`` each call
    runs in a copy of the caller's :mod:`contextvars` context; pass ``False`` for executors whose
    calls cross a process boundary, where a context cannot follow.
    """

    __slots__ = ("__weakref__", "_backend", "_executor", "_handle_contexts", "_shut_down")

    def __init__(
        self,
        executor: _E,
        backend: BackendName | None = None,
        *,
        handle_contexts: bool = True,
    ) -> None:
        if not isinstance(executor, concurrent.futures.Executor):
            raise TypeError(
                "executor must be a concurrent.futures.Executor (a futurist executor, a "
                f"standard library pool or a plugin's), got {type(executor).__name__} {executor!r}"
            )
        if not isinstance(handle_contexts, bool):
            raise TypeError(
                f"handle_contexts must be True or False, got {type(handle_contexts).__name__} "
                f"{handle_contexts!r}"
            )
        self._backend = _backend_named(backend)
        self._executor = executor
        self._handle_contexts = handle_contexts
        self._shut_down = False

    @property
    def wrapped(self) -> _E:
        """The wrapped executor (read-only)."""
        return self._executor

    def backend(self) -> BackendName:
        """The name of the backend this instance awaits with, here and now."""
        return _resolve(self._backend).name

    async def run(self, func: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
        """Run ``func(*args, **kwargs)`` in the executor; return its result or raise its error.

        If the awaiting task is cancelled, a call that has not started is cancelled and never
        runs; a running call is left to finish, its result dropped, and the cancellation goes on
        at once. A ``StopIteration`` raised by ``func`` reaches the caller as ``RuntimeError``
        (PEP 479). Raises ``RuntimeError`` after shutdown.
        """
        backend = _resolve(self._backend)
        if not callable(func):
            raise TypeError(f"run() needs a callable, got {type(func).__name__} {func!r}")
        self._check_open("run")
        return cast(_T, await backend.call(self._submitter(), (func, *args), kwargs))

    def map(
        self,
        func: Callable[..., _T],
        *iterables: Iterable[Any],
        buffersize: int | None = None,
    ) -> AsyncGenerator[_T, None]:
        """An async iterator of ``func`` over the iterables' items, in input order.

        At most ``buffersize`` calls are in flight or waiting to be yielded (default: the
        executor's ``max_workers``, else 2 x CPUs), so an endless iterable runs in bounded
        memory. A call's exception is raised at its position. Closing the iterator early
        (``break`` inside :func:`contextlib.aclosing`, or ``aclose()``) cancels the calls that
        have not started. The iterables are read in the event loop's thread.
        """
        if not callable(func):
            raise TypeError(f"map() needs a callable, got {type(func).__name__} {func!r}")
        if buffersize is None:
            size = default_buffer_size(self._executor)
        elif isinstance(buffersize, bool) or not isinstance(buffersize, int):
            raise TypeError(
                f"buffersize must be an integer >= 1 or None, got {type(buffersize).__name__} "
                f"{buffersize!r}"
            )
        elif buffersize < 1:
            raise ValueError(f"buffersize must be an integer >= 1 or None, got {buffersize}")
        else:
            size = buffersize
        self._check_open("map")
        return self._map(func, zip(*iterables, strict=False), size)

    async def _map(
        self, func: Callable[..., _T], arguments: Iterator[tuple[Any, ...]], size: int
    ) -> AsyncGenerator[_T, None]:
        backend = _resolve(self._backend)
        submit = self._submitter()
        pending: collections.deque[concurrent.futures.Future[_T]] = collections.deque()
        try:
            while True:
                # Refill only once the consumer asked for more: the value it holds counts too.
                for args in itertools.islice(arguments, size - len(pending)):
                    pending.append(submit(func, *args))
                if not pending:
                    return
                result = await backend.wait(pending[0])
                pending.popleft()
                yield result
                del result
        finally:
            for future in pending:
                future.cancel()

    def shutdown_nowait(self, *, cancel_futures: bool = False) -> None:
        """Shut the executor down without waiting; ``cancel_futures`` cancels what has not started.

        Later calls to :meth:`run` raise ``RuntimeError``.
        """
        self._shut_down = True
        self._executor.shutdown(wait=False, cancel_futures=cancel_futures)

    async def shutdown(self, *, cancel_futures: bool = False) -> None:
        """Shut the executor down and await the end of its work without blocking the loop.

        The blocking ``shutdown(wait=True)`` runs in a helper thread; if this await is
        cancelled, the shutdown still completes there.
        """
        backend = _resolve(self._backend)
        self._shut_down = True
        done: concurrent.futures.Future[None] = concurrent.futures.Future()
        # A running future cannot be cancelled: abandoning this await leaves the shutdown going.
        done.set_running_or_notify_cancel()
        threading.Thread(
            target=_shut_down_in_thread,
            args=(self._executor, cancel_futures, done),
            name=f"futurist-aio-shutdown-{type(self._executor).__name__}",
            daemon=True,
        ).start()
        await backend.wait(done)

    async def __aenter__(self) -> AsyncExecutor[_E]:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        """Await :meth:`shutdown`."""
        await self.shutdown()

    def __repr__(self) -> str:
        backend = "detected" if self._backend is None else self._backend.name
        state = "shut down" if self._shut_down else "open"
        return f"<AsyncExecutor {state} backend={backend} wrapping {self._executor!r}>"

    def _submitter(self) -> _Submit:
        if self._handle_contexts:
            return self._submit_in_context
        return self._executor.submit

    def _submit_in_context(
        self, func: Callable[..., _T], /, *args: Any, **kwargs: Any
    ) -> concurrent.futures.Future[_T]:
        return self._executor.submit(contextvars.copy_context().run, func, *args, **kwargs)

    def _check_open(self, method: str) -> None:
        if self._shut_down:
            raise RuntimeError(
                f"cannot schedule new futures after shutdown: cannot {method}() on AsyncExecutor "
                f"wrapping {type(self._executor).__name__}, it has been shut down"
            )


def _shut_down_in_thread(
    executor: concurrent.futures.Executor,
    cancel_futures: bool,
    done: concurrent.futures.Future[None],
) -> None:
    try:
        executor.shutdown(wait=True, cancel_futures=cancel_futures)
    except BaseException as exc:
        done.set_exception(exc)
    else:
        done.set_result(None)


async def unwrap_future(
    future: concurrent.futures.Future[_T], backend: BackendName | None = None
) -> _T:
    """Await any :class:`concurrent.futures.Future` and return its result (or raise its error).

    If the awaiting task is cancelled, the future is cancelled too (which only succeeds if it
    has not started) and the cancellation goes on at once. A future cancelled by someone else
    raises :class:`concurrent.futures.CancelledError`, an ordinary exception.
    """
    if not isinstance(future, concurrent.futures.Future):
        raise TypeError(
            f"unwrap_future() needs a concurrent.futures.Future, got {type(future).__name__} "
            f"{future!r}"
        )
    return await _resolve(_backend_named(backend)).wait(future)
