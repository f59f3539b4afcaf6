"""Where a worker's executor comes from, and whether the worker shuts it down when it stops."""

from __future__ import annotations

import abc
import concurrent.futures

from futurist.executors.synchronous import SynchronousExecutor

__all__ = ["ExecutorFactory", "ExistingExecutor", "SynchronousExecutorFactory"]


class ExecutorFactory(abc.ABC):
    """Builds the executor a worker runs callbacks on each time it starts.

    ``shutdown`` says whether the worker shuts that executor down when it stops.
    """

    shutdown: bool = True

    @abc.abstractmethod
    def __call__(self) -> concurrent.futures.Executor:
        """Return the executor for one run of the worker."""


class SynchronousExecutorFactory(ExecutorFactory):
    """A new :class:`futurist.SynchronousExecutor` per start, shut down at stop.

    Callbacks then run one at a time in the thread that called ``start()``, as they do
    without a factory (the worker then calls them itself, without building an executor).
    """

    def __call__(self) -> concurrent.futures.Executor:
        """Return a new synchronous executor."""
        return SynchronousExecutor()


class ExistingExecutor(ExecutorFactory):
    """Hands the worker an executor someone else owns; shut down at stop only if asked to."""

    def __init__(self, executor: concurrent.futures.Executor, shutdown: bool = False) -> None:
        if not callable(getattr(executor, "submit", None)):
            raise TypeError(
                f"executor must be an executor (an object with a submit method), got {executor!r}"
            )
        self._executor = executor
        self.shutdown = bool(shutdown)

    @property
    def executor(self) -> concurrent.futures.Executor:
        """The wrapped executor."""
        return self._executor

    def __call__(self) -> concurrent.futures.Executor:
        """Return the wrapped executor."""
        return self._executor
