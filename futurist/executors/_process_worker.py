"""The worker side of :class:`~futurist.ProcessPoolExecutor`: the loop each child process runs.

The child reads one pickled call at a time from its end of a private duplex pipe, runs it, times
it, and writes one pickled outcome back, in order. It never sends anything unasked, except one
message once the pool's initializer has run (ready, or failed), so the parent always knows which
call the child is running: the oldest one it sent and has not had an answer for; and from when
(``task_timeout`` does not count the time a new worker takes to start).

Messages, parent to child: ``pickle((fn, args, kwargs))``, or ``b""`` to ask the child to exit.
Child to parent: ``b""`` once, when the initializer (if any) has returned (ready), then pickled
tuples tagged by their first element:

- ``(RETURNED, result, runtime)``
- ``(RAISED, exception, traceback_text, runtime)``
- ``(UNDELIVERED, error, cause, traceback_text, runtime)``: the call could not be unpickled here,
  or its outcome could not be pickled; ``error`` is a :class:`~futurist.DeliveryFailed`,
  ``cause`` the (un)pickling error (None if it cannot be pickled itself) and the text its
  traceback.
- ``(INITIALIZER_FAILED, traceback_text)``, then the child exits.

The child ignores SIGINT: a Ctrl-C in a terminal reaches the whole process group, and it is the
parent (through its shutdown) that decides what happens to the calls running here. SIGTERM gets
its default action back (a forked child inherits the parent's handler): the parent sends it to
stop the call running here, and a call that wants to clean up first installs its own handler.
"""

from __future__ import annotations

import pickle
import signal
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from time import perf_counter
from typing import Any

from futurist._naming import callable_name
from futurist.exceptions import DeliveryFailed, PicklingFailed, UnpicklingFailed
from futurist.executors._pickling import dumps

__all__ = [
    "INITIALIZER_FAILED",
    "RAISED",
    "RETURNED",
    "UNDELIVERED",
    "serve",
]

RETURNED = 0
RAISED = 1
INITIALIZER_FAILED = 2
UNDELIVERED = 3

_PROTOCOL = pickle.HIGHEST_PROTOCOL


def serve(
    conn: Connection,
    initializer: Callable[..., object] | None,
    initargs: tuple[Any, ...],
    max_tasks: int | None,
) -> None:
    """Run the initializer, then answer calls until told to stop or ``max_tasks`` are done."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if initializer is not None:
        try:
            initializer(*initargs)
        except BaseException as exc:
            conn.send_bytes(pickle.dumps((INITIALIZER_FAILED, _format(exc)), _PROTOCOL))
            return
    conn.send_bytes(b"")  # ready; not pickled, so the parent can always read it
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
        error = UnpicklingFailed(
            f"the call could not be unpickled in the worker process ({type(exc).__name__}: {exc})"
        )
        return _undelivered(error, exc, 0.0)
    started = perf_counter()
    try:
        result = fn(*args, **kwargs)
    except BaseException as exc:
        return _raised(exc, perf_counter() - started, callable_name(fn, module=True))
    runtime = perf_counter() - started
    try:
        return dumps((RETURNED, result, runtime), main_is_shared=True)
    except BaseException as exc:
        refusal = PicklingFailed(
            f"the result of {callable_name(fn, module=True)} could not be pickled to send it back "
            f"from the worker process ({type(exc).__name__}: {exc})"
        )
        return _undelivered(refusal, exc, runtime)


def _raised(exc: BaseException, runtime: float, what: str) -> bytes:
    """Pickle a failure with its traceback text, replacing an exception that cannot be pickled."""
    try:
        return dumps((RAISED, exc, _format(exc), runtime), main_is_shared=True)
    except BaseException as pickling_error:
        error = PicklingFailed(
            f"{what} raised {type(exc).__qualname__}: {exc}, which could not be pickled to "
            f"send it back from the worker process ({type(pickling_error).__name__}: "
            f"{pickling_error})"
        )
        return _undelivered(error, pickling_error, runtime)


def _undelivered(error: DeliveryFailed, cause: BaseException, runtime: float) -> bytes:
    """Pickle a delivery failure with its cause (or only the cause's traceback text)."""
    text = _format(cause)
    try:
        return pickle.dumps((UNDELIVERED, error, cause, text, runtime), _PROTOCOL)
    except BaseException:
        return pickle.dumps((UNDELIVERED, error, None, text, runtime), _PROTOCOL)


def _format(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc))
