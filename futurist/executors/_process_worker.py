"""The worker side of :class:`~futurist.ProcessPoolExecutor`: the loop each child process runs.

The child reads one pickled call at a time from its end of a private duplex pipe, runs it, times
it, and writes one pickled outcome back, in order. It never sends anything unasked, except one
message when the pool's initializer fails, so the parent always knows which call the child is
running: the oldest one it sent and has not had an answer for.

Messages, parent to child: ``pickle((fn, args, kwargs))``, or ``b""`` to ask the child to exit.
Child to parent (pickled tuples, tagged by their first element):

- ``(RETURNED, result, runtime)``
- ``(RAISED, exception, traceback_text, runtime)``
- ``(INITIALIZER_FAILED, traceback_text)``, then the child exits.
"""

from __future__ import annotations

import pickle
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from time import perf_counter
from typing import Any

__all__ = ["INITIALIZER_FAILED", "RAISED", "RETURNED", "describe_callable", "serve"]

RETURNED = 0
RAISED = 1
INITIALIZER_FAILED = 2

_PROTOCOL = pickle.HIGHEST_PROTOCOL


def describe_callable(fn: object) -> str:
    """A short human name for a callable, for error messages."""
    name = getattr(fn, "__qualname__", None)
    module = getattr(fn, "__module__", None)
    if not isinstance(name, str):
        return repr(fn)
    return f"{module}.{name}" if isinstance(module, str) else name


def serve(
    conn: Connection,
    initializer: Callable[..., object] | None,
    initargs: tuple[Any, ...],
    max_tasks: int | None,
) -> None:
    """Run the initializer, then answer calls until told to stop or ``max_tasks`` are done."""
    if initializer is not None:
        try:
            initializer(*initargs)
        except BaseException as exc:
            conn.send_bytes(pickle.dumps((INITIALIZER_FAILED, _format(exc)), _PROTOCOL))
            return
    receive = conn.recv_bytes
    send = conn.send_bytes
    done = 0
    while max_tasks is None or done < max_tasks:
        try:
            request = receive()
        except EOFError:
            return
        if not request:
            return
        send(_answer(request))
        del request
        done += 1


def _answer(request: bytes) -> bytes:
    """Run one pickled call and return its pickled outcome; never raises."""
    try:
        fn, args, kwargs = pickle.loads(request)
    except BaseException as exc:
        error = pickle.UnpicklingError(
            f"the call could not be unpickled in the worker process: {type(exc).__name__}: {exc}"
        )
        return pickle.dumps((RAISED, error, _format(exc), 0.0), _PROTOCOL)
    started = perf_counter()
    try:
        result = fn(*args, **kwargs)
    except BaseException as exc:
        return _raised(exc, perf_counter() - started, describe_callable(fn))
    runtime = perf_counter() - started
    try:
        return pickle.dumps((RETURNED, result, runtime), _PROTOCOL)
    except BaseException as exc:
        refusal = pickle.PicklingError(
            f"the result of {describe_callable(fn)} could not be pickled to send it back "
            f"from the worker process: {type(exc).__name__}: {exc}"
        )
        return pickle.dumps((RAISED, refusal, _format(exc), runtime), _PROTOCOL)


def _raised(exc: BaseException, runtime: float, what: str) -> bytes:
    """Pickle a failure with its traceback text, replacing an exception that cannot be pickled."""
    text = _format(exc)
    try:
        return pickle.dumps((RAISED, exc, text, runtime), _PROTOCOL)
    except BaseException as pickling_error:
        error = pickle.PicklingError(
            f"{what} raised {type(exc).__qualname__}: {exc}, which could not be pickled to "
            f"send it back from the worker process ({type(pickling_error).__name__}: "
            f"{pickling_error})"
        )
        return pickle.dumps((RAISED, error, text, runtime), _PROTOCOL)


def _format(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc))
