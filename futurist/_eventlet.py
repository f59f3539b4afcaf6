"""The one place that imports eventlet, so that futurist itself never needs it.

Green kinds call :func:`eventlet_module` when they are first used; without eventlet installed
they fail with an error that says how to install it.
"""

from __future__ import annotations

import functools
from typing import Any

from futurist.extras import import_extra

__all__ = [
    "EventletMissing",
    "eventlet_module",
    "green_condition",
    "green_ident",
    "green_event",
    "green_lock",
    "threads_are_green",
]


class EventletMissing(ImportError, RuntimeError):
    """eventlet is not installed: an ``ImportError``, and the ``RuntimeError`` of futurist 3.5."""


@functools.cache
def eventlet_module() -> Any:
    """Import and return eventlet, or raise :class:`EventletMissing` saying what to install."""
    return import_extra(
        "eventlet", "green futures and executors need", "eventlet", error=EventletMissing
    )


@functools.cache
def _green_threading() -> Any:
    eventlet_module()
    from eventlet.green import threading as green_threading

    return green_threading


def green_condition(lock: Any = None) -> Any:
    """A condition variable whose ``wait`` yields to the eventlet hub instead of blocking it."""
    return _green_threading().Condition(lock)


def green_ident() -> Any:
    """The function naming the running green thread (green threads share one OS thread)."""
    return _green_threading().get_ident


def green_lock() -> Any:
    """A lock whose ``acquire`` yields to the eventlet hub instead of blocking it."""
    return _green_threading().Lock()


def green_event() -> Any:
    """An event whose ``wait`` yields to the eventlet hub."""
    return eventlet_module().Event()


def threads_are_green() -> bool:
    """Whether ``eventlet.monkey_patch()`` made threads green, so every future waits greenly."""
    from eventlet import patcher

    return bool(patcher.is_monkey_patched("thread"))
