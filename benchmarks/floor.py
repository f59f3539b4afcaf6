"""The floor a thread pool is measured against: the least work a pool can do per call.

:class:`MinimalPool` keeps one queue and a fixed set of threads, and returns futurist's own
:class:`~futurist.Future`: no statistics, no metrics, no admission checks, no shutdown
bookkeeping beyond one stop marker per thread. What futurist's thread pool costs above it is
what its shared front (the contract, statistics, histograms, metrics) adds to each call.
"""

from __future__ import annotations

import concurrent.futures
import queue
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import futurist

__all__ = ["MinimalPool", "bare_call_and_future_us"]

_T = TypeVar("_T")

_Call = tuple[futurist.Future[Any], Callable[..., Any], tuple[Any, ...]]


class MinimalPool(concurrent.futures.Executor):
    """``workers`` threads taking ``(future, fn, args)`` from one queue until a ``None``."""

    def __init__(self, workers: int) -> None:
        self._calls: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()
        self._threads = [threading.Thread(target=self._serve) for _ in range(workers)]
        for thread in self._threads:
            thread.start()

    def _serve(self) -> None:
        take = self._calls.get
        while (call := take()) is not None:
            future, fn, args = call
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = fn(*args)
            except BaseException as exc:
                future.set_exception(exc)
            else:
                future.set_result(result)

    def serve_here(self) -> None:
        """Run every queued call in this thread (for a pool of no threads, counted alone)."""
        self._calls.put(None)
        self._serve()

    def submit(self, fn: Callable[..., _T], /, *args: Any, **kwargs: Any) -> futurist.Future[_T]:
        """Queue ``fn(*args)`` (keywords are not supported: the floor takes none)."""
        future: futurist.Future[_T] = futurist.Future()
        self._calls.put((future, fn, args))
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop every thread once the queue is drained (waiting for them if ``wait``)."""
        for _ in self._threads:
            self._calls.put(None)
        if wait:
            for thread in self._threads:
                thread.join()


def bare_call_and_future_us(
    future_class: type[concurrent.futures.Future[Any]], calls: int, fn: Callable[[], object]
) -> float:
    """The floor of a synchronous executor: call ``fn``, set a new ``future_class`` with its
    result, read it back; microseconds per call."""
    started = time.perf_counter()
    for _ in range(calls):
        future = future_class()
        future.set_result(fn())
        future.result()
    return (time.perf_counter() - started) / calls * 1e6
