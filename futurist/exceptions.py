"""The errors futurist raises, beyond the standard library's."""

from __future__ import annotations

import pickle
from concurrent.futures import BrokenExecutor
from concurrent.futures.process import BrokenProcessPool

__all__ = [
    "BrokenExecutor",
    "CallStopped",
    "DeliveryFailed",
    "ExecutorPluginError",
    "PicklingFailed",
    "PluginLoadError",
    "RejectedSubmission",
    "RemoteTraceback",
    "StopNotSupported",
    "UnknownExecutorKind",
    "UnpicklingFailed",
    "WorkerCrashed",
    "WorkerStopped",
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


class WorkerCrashed(BrokenProcessPool):
    """The worker process running a task died before the task finished.

    Only the task that was running fails with this error; the pool replaces the worker. It is a
    :class:`~concurrent.futures.process.BrokenProcessPool`, what the standard library's process
    pool raises in the same case (where it also breaks the whole pool). When workers keep dying
    before they take a call (an initializer that ends its process), the pool stops starting
    them and breaks: every queued call fails with this error, and ``submit`` raises it.
    """


class WorkerStopped(CallStopped, BrokenProcessPool):
    """The call was stopped by ending the worker process that ran it.

    What the process kind's ``stop()``, ``drain()`` past its deadline, ``terminate_workers()``
    and ``kill_workers()`` fail a running call with. Also a
    :class:`~concurrent.futures.process.BrokenProcessPool`, what the standard library's
    ``terminate_workers()``/``kill_workers()`` (Python 3.14) fail running calls with.
    """


class DeliveryFailed(BrokenProcessPool):
    """A call or its outcome could not cross between the parent and a worker process.

    Only that call fails; the pool goes on. ``__cause__`` is the pickling or unpickling error.
    """


class PicklingFailed(DeliveryFailed, pickle.PicklingError):
    """A call could not be pickled in the parent, or its outcome in the worker process.

    Also a :class:`pickle.PicklingError`, so code that catches either keeps working.
    """


class UnpicklingFailed(DeliveryFailed, pickle.UnpicklingError):
    """A call could not be unpickled in the worker process, or its outcome in the parent.

    Also a :class:`pickle.UnpicklingError`, so code that catches either keeps working.
    """


class RemoteTraceback(Exception):
    """The ``__cause__`` of an exception that came back from a call run in another process:
    the text of its traceback there (frames cannot cross), as the standard library's process
    pool gives. A kind that runs calls elsewhere attaches it with
    ``exc.__cause__ = RemoteTraceback(text)``, ``text`` from
    :func:`traceback.format_exception` where the call ran.
    """

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:
        return self.text


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
