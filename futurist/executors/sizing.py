"""How a kind sizes itself when given no ``max_workers``, told so that tools can show it.

A kind describes its default through the classmethod ``default_max_workers(**options)``
(:meth:`futurist.executors.base.Executor.default_max_workers`), built from the same helpers
its constructor uses, so ``futurist config`` shows the figure the kind would really take.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

__all__ = ["DefaultWorkers", "cpu_count"]


def cpu_count() -> int:
    """The CPUs of this machine, at least 1 (``os.cpu_count()`` may not know)."""
    return os.cpu_count() or 1


@dataclass(frozen=True, slots=True)
class DefaultWorkers:
    """The ``max_workers`` a kind takes when given none: ``count`` and the ``rule`` giving it.

    ``count`` is None when it is known only once the executor runs (the size of a remote
    cluster); ``rule`` says how the count is reached, such as ``5 × CPUs``.
    """

    count: int | None
    rule: str

    def __str__(self) -> str:
        return self.rule if self.count is None else f"{self.count} ({self.rule})"
