"""Finding the ``@periodic`` members of objects without evaluating their properties."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import Any

from futurist.naming import callable_name
from futurist.periodics.decorator import is_enabled, is_periodic

__all__ = ["describe", "periodic_members"]


def periodic_members(obj: object, exclude_hidden: bool) -> Iterator[Callable[..., Any]]:
    """The enabled ``@periodic`` members of ``obj`` (or ``obj`` itself if it is one).

    Attributes are inspected statically, so properties and other descriptors are never run;
    names starting with ``_`` are skipped when ``exclude_hidden``.
    """
    if is_periodic(obj):
        yield obj  # type: ignore[misc]
        return
    for name in dir(obj):
        if exclude_hidden and name.startswith("_"):
            continue
        try:
            raw = inspect.getattr_static(obj, name)
        except AttributeError:
            continue
        target = raw.__func__ if isinstance(raw, staticmethod | classmethod) else raw
        if is_periodic(target) and is_enabled(target):
            yield getattr(obj, name)


def describe(obj: object) -> str:
    """How error messages name ``obj``."""
    if callable(obj):
        return f"callable {callable_name(obj, module=True)!r}"
    return f"{obj!r} (not even callable)"
