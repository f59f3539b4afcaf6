"""The errors futurist raises, beyond the standard library's."""

from __future__ import annotations

from concurrent.futures import BrokenExecutor

__all__ = [
    "BrokenExecutor",
    "CallStopped",
    "ExecutorPluginError",
    "PluginLoadError",
    "RejectedSubmission",
    "StopNotSupported",
    "UnknownExecutorKind",
    "WorkerCrashed",
]


class RejectedSubmission(Exception):
    """A submission was refused by the executor's ``check_and_reject`` policy.

    Nothing was queued and nothing was recorded in the executor's statistics.
    """


class StopNotSupported(Exception):
    """This executor kind cannot stop a call that is already running.

    Raised by ``stop()``, ``terminate_workers()`` and ``kill_workers()`` of kinds whose workers
    are threads or green threads of this process, which cannot be interrupted safely. The
    message names the kind and what it can do instead. ``kind`` is the executor's class name.
    """

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


class CallStopped(Exception):
    """The call was stopped while it ran: ``stop()``, ``drain()`` past its deadline, or
    ``terminate_workers()``/``kill_workers()``. Its future fails with this error."""


class WorkerCrashed(BrokenExecutor):
    """The worker process running a task died before the task finished.

    Only the task that was running fails with this error; the pool replaces the worker.
    """


class ExecutorPluginError(Exception):
    """An executor kind could not be found or loaded from the ``futurist.executors`` plugins."""


class UnknownExecutorKind(ExecutorPluginError, LookupError):
    """No installed plugin provides the executor kind asked for.

    ``kind`` is the name asked for, ``group`` the config group it came from (or None) and
    ``installed`` the kinds that are installed.
    """

    def __init__(self, message: str, kind: str, group: str | None, installed: list[str]) -> None:
        super().__init__(message)
        self.kind = kind
        self.group = group
        self.installed = installed


class PluginLoadError(ExecutorPluginError):
    """An executor plugin is installed but importing it (or what it names) failed.

    The message names the entry point and its distribution; ``__cause__`` is the real error.
    """
