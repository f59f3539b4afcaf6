"""What a Ray task runs, and how a call travels to it.

A call whose function is found by name on the workers (a module-level function, a builtin)
goes to a remote function made for it once, its arguments one by one when Ray's msgpack
carries them unchanged; any other call goes to one generic task with its function and its
arguments pickled in one tuple. Either task body times the call in the Ray worker and sends
back a ``Report``, in a list (msgpack) when the result is of a plain type.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from time import perf_counter
from traceback import format_exception
from typing import Any, TypeAlias

__all__ = ["Report", "all_sent_as_is", "remote_by_name", "run_call", "run_packed", "timed"]


def remote_by_name(fn: Callable[..., Any]) -> bool:
    """Whether ``fn`` is found by name wherever it runs (a module-level function or builtin):
    then it gets a remote function of its own, exported to the cluster once."""
    if isinstance(fn, types.FunctionType):
        return fn.__closure__ is None and "<" not in fn.__qualname__
    return isinstance(fn, types.BuiltinFunctionType) and isinstance(
        getattr(fn, "__self__", None), types.ModuleType
    )


Report: TypeAlias = tuple[float, bool, Any] | list[Any]
"""What a task sends back: ``(runtime, raised, outcome)``, as a list or a tuple."""

_SENT_AS_IS = frozenset({int, float, str, bytes, bool, type(None)})
"""Types that Ray's msgpack carries unchanged. Such a result comes back in a list, which Ray
sends by msgpack, about 20 µs of the Ray worker's CPU less than the tuple it pickles; any
other result (a container, a subclass) keeps the tuple. Arguments of these types alone go
one by one, as plain Ray code sends them."""


def all_sent_as_is(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    """Whether every argument is of a type in ``_SENT_AS_IS``."""
    return all(type(arg) in _SENT_AS_IS for arg in args) and all(
        type(arg) in _SENT_AS_IS for arg in kwargs.values()
    )


def timed(fn: Callable[..., Any]) -> Callable[..., Report]:
    """``fn`` as a task body that reports like :func:`run_call` (``fn`` goes by name)."""

    def call(*args: Any, **kwargs: Any) -> Report:
        return run_call(fn, args, kwargs)

    call.__name__ = getattr(fn, "__name__", "call")
    return call


def run_call(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Report:
    """Run one call in a Ray worker: its runtime there, whether it raised, and its outcome.

    What the call raises comes back as a value, ``(exception, its traceback's text)``: Ray
    would otherwise wrap it in a ``RayTaskError`` built from its ``str()``, which may raise,
    and ``KeyboardInterrupt`` or ``SystemExit`` would end the worker itself.
    """
    started = perf_counter()
    try:
        result = fn(*args, **kwargs)
    except BaseException as exc:
        runtime = perf_counter() - started
        return runtime, True, (exc, "".join(format_exception(exc)))
    runtime = perf_counter() - started
    if type(result) in _SENT_AS_IS:
        return [runtime, False, result]
    return runtime, False, result


def run_packed(fn: Callable[..., Any], call: tuple[tuple[Any, ...], dict[str, Any]]) -> Report:
    """The generic task's body: :func:`run_call` of ``fn`` with the arguments and keywords
    packed in one tuple, which Ray pickles whole (a dict of keywords alone would go by
    msgpack, which turns a ``bytearray`` in it into ``bytes``)."""
    args, kwargs = call
    return run_call(fn, args, kwargs)
