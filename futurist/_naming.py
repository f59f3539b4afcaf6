"""How executors name themselves in metrics, logs and their threads' names."""

from __future__ import annotations

import collections
import threading

from futurist.naming import safe_repr

__all__ = ["executor_name"]


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
