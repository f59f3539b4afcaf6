"""futurist: one executor interface for every concurrency model."""

from futurist.exceptions import BrokenExecutor, RejectedSubmission, WorkerCrashed
from futurist.executors.dask import DaskExecutor
from futurist.executors.synchronous import SynchronousExecutor
from futurist.executors.thread import ThreadPoolExecutor
from futurist.futures import CancelledError, Future, TimeoutError
from futurist.statistics import ExecutorStatistics

__all__ = [
    "BrokenExecutor",
    "CancelledError",
    "DaskExecutor",
    "ExecutorStatistics",
    "Future",
    "RejectedSubmission",
    "SynchronousExecutor",
    "ThreadPoolExecutor",
    "TimeoutError",
    "WorkerCrashed",
]
