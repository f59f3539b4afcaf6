"""One wording for an optional dependency that is missing, and the import that says it.

Every such message ends ``install it with: pip install P (futurist's E extra)``, which
``futurist executors`` also reads back to show the hint.
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["import_extra", "missing"]


def missing(needer: str, package: str, extra: str) -> str:
    """``{needer} {package}, which is not installed; install it with: pip install ...``.

    ``needer`` says who needs it, verb included: ``"the futurist command needs"``.
    """
    return (
        f"{needer} {package}, which is not installed; "
        f"install it with: pip install {package} (futurist's {extra} extra)"
    )


def import_extra(
    module: str,
    needer: str,
    extra: str,
    *,
    package: str | None = None,
    error: type[ImportError] = ImportError,
) -> ModuleType:
    """Import ``module``, or raise ``error`` saying :func:`missing` (``name``: its package).

    ``package`` is what pip installs, when it is not the module's top-level name.
    """
    top = module.partition(".")[0]
    try:
        importlib.import_module(top)  # a package blocked or broken fails even if its part loaded
        return importlib.import_module(module)
    except ImportError as exc:
        raise error(missing(needer, package or top, extra), name=top) from exc
