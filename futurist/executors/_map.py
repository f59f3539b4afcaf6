"""``Executor.map``: its argument checks, batching for ``chunksize``, results in input order."""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import itertools
import numbers
import time
import weakref
from collections.abc import Callable, Generator, Iterator
from typing import Any, TypeVar

from futurist.naming import safe_repr

__all__ = ["batched_calls", "check_map_arguments", "ordered_results", "unbatched"]

_T = TypeVar("_T")


def check_map_arguments(chunksize: object, buffersize: object) -> None:
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


def batched_calls(
    fn: Callable[..., Any], arguments: Iterator[tuple[Any, ...]], size: int
) -> Iterator[tuple[Any, ...]]:
    """One call of :func:`call_batch` per ``size`` argument tuples."""
    return ((call_batch, fn, batch) for batch in batches(arguments, size))


def call_batch(fn: Callable[..., _T], batch: tuple[tuple[Any, ...], ...]) -> list[_T]:
    """Run ``fn`` over one batch of argument tuples (``map`` with ``chunksize``).

    The results come back last first, so the caller pops them off in input order.
    """
    results = [fn(*args) for args in batch]
    results.reverse()
    return results


def batches(
    arguments: Iterator[tuple[Any, ...]], size: int
) -> Iterator[tuple[tuple[Any, ...], ...]]:
    while batch := tuple(itertools.islice(arguments, size)):
        yield batch


def unbatched(chunks: Generator[list[Any]]) -> Iterator[Any]:
    """Yield the results of each batch in order, each leaving its batch as it is yielded.

    Closing this generator closes ``chunks``, which cancels the calls still outstanding.
    """
    with contextlib.closing(chunks):
        for batch in chunks:
            while batch:
                yield batch.pop()


def ordered_results(
    executor: Any,
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
                    yield result_or_cancel(pending.popleft(), deadline)
            else:
                while pending:
                    yield refilled(result_or_cancel(pending.popleft(), deadline))
        finally:
            for future in pending:
                future.cancel()

    return results()


def result_or_cancel(future: concurrent.futures.Future[Any], deadline: float | None) -> Any:
    """The future's result within the deadline; on any way out, the future is cancelled."""
    try:
        if deadline is None:
            return future.result()
        return future.result(deadline - time.monotonic())
    finally:
        future.cancel()
        # A failure's traceback holds this frame: let go of the future that holds the failure.
        del future
