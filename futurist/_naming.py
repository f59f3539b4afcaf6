"""How messages and logs name a callable: one rule everywhere."""

from __future__ import annotations

__all__ = ["callable_name"]


def callable_name(fn: object, *, module: bool = False) -> str:
    """``fn``'s ``__qualname__`` (``module.qualname`` when ``module``), or its repr if it has none.

    A partial or a callable instance has no ``__qualname__``; its repr says what it is. A
    callable whose attributes or repr raise is named by its type: naming a call in an error
    or a log must never fail the machinery that reports it.
    """
    try:
        qualname = getattr(fn, "__qualname__", None)
        if not isinstance(qualname, str) or not qualname:
            return repr(fn)
        where = getattr(fn, "__module__", None) if module else None
    except Exception:
        return f"<{type(fn).__qualname__} object>"
    return f"{where}.{qualname}" if isinstance(where, str) and where else qualname
