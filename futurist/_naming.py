"""How messages, logs, metrics and threads name things: one rule everywhere."""

from __future__ import annotations

import collections
import threading

__all__ = ["callable_name", "executor_name", "safe_repr"]


def callable_name(fn: object, *, module: bool = False) -> str:
    """``fn``'s ``__qualname__`` (``module.qualname`` when ``module``), or its repr if it has none.

    A partial or a callable instance has no ``__qualname__``; its repr says what it is. Never
    raises an ``Exception``: the name goes into messages and logs about the call, which must
    not fail in their turn because the callable's attributes or repr do.
    """
    qualname = _attribute(fn, "__qualname__")
    if not isinstance(qualname, str) or not qualname:
        return safe_repr(fn)
    where = _attribute(fn, "__module__") if module else None
    return f"{where}.{qualname}" if isinstance(where, str) and where else qualname


def safe_repr(value: object) -> str:
    """``repr(value)``, or a stand-in naming its type and address if that raises an ``Exception``.

    For messages about values a caller passed: an error saying what is wrong with a value must
    not become the error its ``__repr__`` raises.
    """
    try:
        return repr(value)
    except Exception as exc:
        return (
            f"<{type(value).__qualname__} object at {id(value):#x}, "
            f"whose repr() raised {type(exc).__name__}>"
        )


def _attribute(value: object, name: str) -> object:
    """``value.name``, or None if it is missing or reading it raises an ``Exception``."""
    try:
        return getattr(value, name, None)
    except Exception:
        return None


_name_numbers: collections.Counter[str] = collections.Counter()
_name_lock = threading.Lock()


def executor_name(name: object, kind: str) -> str:
    """``name`` if it is a non-empty str; when None, ``kind`` and the next number for it.

    The default (``thread-0``, ``thread-1``, ...) names an executor in metrics, logs and its
    threads' names; numbers count per kind, so each kind's first executor is ``-0``.
    """
    if name is None:
        with _name_lock:
            number = _name_numbers[kind]
            _name_numbers[kind] += 1
        return f"{kind}-{number}"
    if not isinstance(name, str):
        raise TypeError(f"name must be a str or None, got {type(name).__name__} {safe_repr(name)}")
    if not name:
        raise ValueError("name must not be empty; pass None for the kind and a number")
    return name
