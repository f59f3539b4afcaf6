"""Futures: the standard library's, plus the traceback of a failure."""

from __future__ import annotations

from concurrent.futures import CancelledError, TimeoutError
from concurrent.futures import Future as _StdFuture
from types import TracebackType
from typing import TypeVar

__all__ = ["CancelledError", "Future", "TimeoutError"]

_T = TypeVar("_T")


class Future(_StdFuture[_T]):
    """A :class:`concurrent.futures.Future` that also keeps the traceback of its failure."""

    _traceback: TracebackType | None = None

    def exception_info(
        self, timeout: float | None = None
    ) -> tuple[BaseException | None, TracebackType | None]:
        """Wait like :meth:`exception` and return ``(exception, traceback)``.

        Both are ``None`` when the call succeeded. Raises ``CancelledError`` if the future was
        cancelled and ``TimeoutError`` if it is not done within ``timeout`` seconds.
        """
        exc = self.exception(timeout)
        if exc is None:
            return None, None
        return exc, self._traceback if self._traceback is not None else exc.__traceback__

    def set_exception_info(self, exception: BaseException, traceback: TracebackType | None) -> None:
        """Finish the future with ``exception`` and the ``traceback`` it was raised with."""
        self._traceback = traceback
        self.set_exception(exception)
