"""futurist: one executor interface for every concurrency model."""

from futurist.exceptions import (
    BrokenExecutor,
    ExecutorPluginError,
    PluginLoadError,
    RejectedSubmission,
    UnknownExecutorKind,
    WorkerCrashed,
)
from futurist.executors.synchronous import SynchronousExecutor
from futurist.executors.thread import ThreadPoolExecutor
from futurist.futures import CancelledError, Future, TimeoutError
from futurist.statistics import ExecutorStatistics

__all__ = [
    "BrokenExecutor",
    "CancelledError",
    "ExecutorPluginError",
    "ExecutorStatistics",
    "Future",
    "PluginLoadError",
    "RejectedSubmission",
    "SynchronousExecutor",
    "ThreadPoolExecutor",
    "TimeoutError",
    "UnknownExecutorKind",
    "WorkerCrashed",
]
