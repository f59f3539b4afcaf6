"""Pickling for another process: plain pickle first, cloudpickle by value where it cannot.

Plain pickle sends a function by reference (its module and name), which is fast, and the other
process imports it. A lambda or a closure has no such name, and a function or class defined in
``__main__`` (a notebook, ``python -c``, a script a worker did not import) names a module the
other process may not have: cloudpickle sends those by value, as loky and Dask do. Whatever
cloudpickle writes, ``pickle.loads`` reads back (cloudpickle must be importable there).
"""

from __future__ import annotations

import pickle
from types import ModuleType

from futurist.extras import import_extra

__all__ = ["PROTOCOL", "dumps"]

PROTOCOL = pickle.HIGHEST_PROTOCOL

_MAIN = b"__main__"

_BY_REFERENCE_REFUSED = (pickle.PicklingError, AttributeError, TypeError)
"""What plain pickle raises for what it cannot name (a lambda, a local object, a module);
anything else (``MemoryError``, ``RecursionError``) cloudpickle would not mend."""


def dumps(value: object, *, main_is_shared: bool = False) -> bytes:
    """Pickle ``value``; with cloudpickle, by value, where plain pickle cannot send it.

    ``main_is_shared`` says the other process has this one's ``__main__`` (a forked child, or
    the parent seen from one): references to it then stay plain, as they do when cloudpickle
    is not installed. Raises what cloudpickle raises for a value that no pickler can send, and
    ``pickle.PicklingError`` naming the extra to install where only cloudpickle could.
    """
    try:
        data = pickle.dumps(value, PROTOCOL)
    except _BY_REFERENCE_REFUSED as exc:
        try:
            cloudpickle = _cloudpickle()
        except ImportError as missing:
            raise pickle.PicklingError(
                f"plain pickle cannot send it ({type(exc).__name__}: {exc}); {missing}"
            ) from exc
        return bytes(cloudpickle.dumps(value, PROTOCOL))
    if main_is_shared or _MAIN not in data:
        return data
    # A worker that imports the same __main__ (a script) finds it there: plain data is the
    # answer when cloudpickle is missing or cannot send what __main__ holds either.
    try:
        return bytes(_cloudpickle().dumps(value, PROTOCOL))
    except Exception:
        return data


def _cloudpickle() -> ModuleType:
    return import_extra("cloudpickle", "sending it by value needs", "process")
