"""What a kind takes as ``max_workers`` when its config group sets none, as the kind tells it.

A kind tells through its ``default_max_workers(**options)`` classmethod
(:meth:`futurist.executors.base.Executor.default_max_workers`); a plain
``concurrent.futures.Executor`` may declare the same classmethod. A kind that does not tell is
read from its constructor's default for ``max_workers``, if that is a number.
"""

from __future__ import annotations

import concurrent.futures
import inspect
from typing import Any

from futurist.executors.sizing import DefaultWorkers
from futurist.naming import callable_name

__all__ = ["described_default"]


def described_default(
    cls: type[concurrent.futures.Executor], options: dict[str, Any]
) -> DefaultWorkers | None:
    """The ``max_workers`` kind ``cls`` takes when given none, built with ``options`` (its
    other constructor keywords); None when neither the kind nor its constructor tells.

    Raises ``TypeError`` if the kind's ``default_max_workers`` returns something else than a
    :class:`~futurist.DefaultWorkers` or None.
    """
    describe = getattr(cls, "default_max_workers", None)
    told = None if describe is None else describe(**options)
    if told is not None and not isinstance(told, DefaultWorkers):
        raise TypeError(
            f"{callable_name(cls)}.default_max_workers() must return a futurist.DefaultWorkers "
            f"or None, got {told!r}"
        )
    return told or _constructor_default(cls)


def _constructor_default(cls: type[concurrent.futures.Executor]) -> DefaultWorkers | None:
    """``max_workers``'s default in the signature of ``cls``, if it is a positive int."""
    try:
        parameter = inspect.signature(cls).parameters.get("max_workers")
    except (TypeError, ValueError):
        return None
    default = None if parameter is None else parameter.default
    if isinstance(default, bool) or not isinstance(default, int) or default < 1:
        return None
    return DefaultWorkers(default, "the constructor's default")
