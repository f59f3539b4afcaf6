"""futurist: one executor interface for every concurrency model."""

from futurist import rejection, waiters
from futurist.exceptions import (
    BrokenExecutor,
    CallStopped,
    DeliveryFailed,
    ExecutorPluginError,
    PicklingFailed,
    PluginLoadError,
    RejectedSubmission,
    RemoteTraceback,
    StopNotSupported,
    UnknownExecutorKind,
    UnpicklingFailed,
    WorkerCrashed,
    WorkerStopped,
)
from futurist.executors.base import Executor
from futurist.executors.dask import DaskExecutor
from futurist.executors.delayed import (
    DelayedExecutorMixin,
    DelayedExecutorMixinBase,
    GreenDelayedExecutorMixin,
)
from futurist.executors.dynamic import DynamicThreadPoolExecutor
from futurist.executors.green import GreenThreadPoolExecutor
from futurist.executors.process import ProcessPoolExecutor
from futurist.executors.ray import RayExecutor
from futurist.executors.sizing import DefaultWorkers
from futurist.executors.synchronous import SynchronousExecutor
from futurist.executors.thread import ThreadPoolExecutor
from futurist.executors.workers import PriorityBacklog, StoppableWorkers, Workers, WorkItem
from futurist.futures import CancelledError, Future, GreenFuture, TimeoutError
from futurist.statistics import ExecutorStatistics


def __getattr__(name: str) -> str:
    """``futurist.__version__``: the installed distribution's version, read when asked for."""
    if name == "__version__":
        import importlib.metadata

        return importlib.metadata.version("futurist")
    raise AttributeError(f"module 'futurist' has no attribute {name!r}")


__all__ = [
    "BrokenExecutor",
    "CallStopped",
    "CancelledError",
    "DaskExecutor",
    "DefaultWorkers",
    "DelayedExecutorMixin",
    "DelayedExecutorMixinBase",
    "DeliveryFailed",
    "DynamicThreadPoolExecutor",
    "Executor",
    "ExecutorPluginError",
    "ExecutorStatistics",
    "Future",
    "GreenDelayedExecutorMixin",
    "GreenFuture",
    "GreenThreadPoolExecutor",
    "PicklingFailed",
    "PluginLoadError",
    "PriorityBacklog",
    "ProcessPoolExecutor",
    "RayExecutor",
    "RejectedSubmission",
    "RemoteTraceback",
    "StopNotSupported",
    "StoppableWorkers",
    "SynchronousExecutor",
    "ThreadPoolExecutor",
    "TimeoutError",
    "UnknownExecutorKind",
    "UnpicklingFailed",
    "WorkItem",
    "WorkerCrashed",
    "WorkerStopped",
    "Workers",
    "rejection",
    "waiters",
]
