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
- ``(RAISED, exception, traceback_text, runtime)``; also when pickling the outcome raised a
  ``BaseException`` outside ``Exception`` (``SystemExit`` from a ``__reduce__``): that is the
  exception then, as in the standard library.
- ``(UNDELIVERED, error, cause, traceback_text, runtime)``: the call could not be unpickled here,
  or its outcome could not be pickled; ``error`` is a :class:`~futurist.DeliveryFailed`,
  ``cause`` the (un)pickling error (None if it cannot be pickled itself) and the text its
  traceback. Whatever the call returns or raises, the child answers: building this answer
  never raises, so a hostile outcome costs its call, never the worker.
- ``(INITIALIZER_FAILED, traceback_text)``, then the child exits.

The child ignores SIGINT: a Ctrl-C in a terminal reaches the whole process group, and it is the
parent (through its shutdown) that decides what happens to the calls running here. SIGTERM gets
its default action back (a forked child inherits the parent's handler): the parent sends it to
stop the call running here, and a call that wants to clean up first installs its own handler.
"""

from __future__ import annotations

import contextlib
import pickle
import signal
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from time import perf_counter
from typing import Any

from futurist.exceptions import DeliveryFailed, PicklingFailed, UnpicklingFailed
from futurist.executors._pickling import dumps
from futurist.naming import callable_name

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

_TEXT_LIMIT = 200
"""The most characters of an exception's message quoted in another error's message."""


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
            f"the call could not be unpickled in the worker process ({_describe(exc)})"
        )
        return _undelivered(error, exc, _format(exc), 0.0)
    started = perf_counter()
    try:
        result = fn(*args, **kwargs)
    except BaseException as exc:
        runtime = perf_counter() - started
        try:
            return dumps((RAISED, exc, _format(exc), runtime), main_is_shared=True)
        except BaseException as pickling_error:
            return _refused(fn, exc, pickling_error, runtime)
    runtime = perf_counter() - started
    try:
        return dumps((RETURNED, result, runtime), main_is_shared=True)
    except BaseException as pickling_error:
        return _refused(fn, None, pickling_error, runtime)


def _refused(
    fn: object, raised: BaseException | None, pickling_error: BaseException, runtime: float
) -> bytes:
    """The answer for an outcome (a result, or the exception ``raised``) that could not be
    pickled; never raises.

    A ``BaseException`` outside ``Exception`` (``SystemExit`` from a ``__reduce__``) is itself
    the outcome, as in the standard library; any other error becomes a
    :class:`~futurist.PicklingFailed` with the pickling error as its cause.
    """
    text = _format(pickling_error)
    # Its context is the outcome that could not be pickled: the text above shows it, but it
    # cannot travel with the error (an exception pickler that keeps contexts, as tblib's does
    # once importing Dask has installed it, would fail on it).
    with contextlib.suppress(BaseException):
        pickling_error.__context__ = None
    if not issubclass(type(pickling_error), Exception):
        with contextlib.suppress(BaseException):
            return pickle.dumps((RAISED, pickling_error, text, runtime), _PROTOCOL)
    try:
        call = callable_name(fn, module=True)
        if raised is None:
            what = f"the result of {call} could not be pickled"
        else:
            what = f"{call} raised {_describe(raised)}, which could not be pickled"
    except BaseException:  # even the call's name is hostile: say less
        what = "the outcome of a call could not be pickled"
    refusal = PicklingFailed(
        f"{what} to send it back from the worker process ({_describe(pickling_error)})"
    )
    return _undelivered(refusal, pickling_error, text, runtime)


def _undelivered(error: DeliveryFailed, cause: BaseException, text: str, runtime: float) -> bytes:
    """Pickle a delivery failure with its cause (or only the cause's traceback ``text``)."""
    try:
        return pickle.dumps((UNDELIVERED, error, cause, text, runtime), _PROTOCOL)
    except BaseException:
        return pickle.dumps((UNDELIVERED, error, None, text, runtime), _PROTOCOL)


def _describe(exc: BaseException) -> str:
    """``Type: message`` of ``exc`` for another error's message, shortened; never raises."""
    name = type(exc).__qualname__
    try:
        text = str(exc)
    except BaseException:
        return f"{name}, whose str() failed"
    if len(text) > _TEXT_LIMIT:
        text = f"{text[:_TEXT_LIMIT]}... ({len(text)} characters)"
    return f"{name}: {text}" if text else name


def _format(exc: BaseException) -> str:
    """The traceback text of ``exc``; never raises."""
    try:
        return "".join(traceback.format_exception(exc))
    except BaseException as error:
        failure = type(error).__qualname__
        return f"{type(exc).__qualname__} (its traceback could not be formatted: {failure})"
