"""How messages and logs name a callable or a value: one rule everywhere, never raising.

Public, for any kind (ours and third parties'): a message about a call must not fail in its
turn because the callable's attributes or a value's ``repr()`` raise.
"""

from __future__ import annotations

__all__ = ["callable_name", "safe_repr"]


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
