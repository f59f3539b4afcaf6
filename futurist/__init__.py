"""futurist: one executor interface for every concurrency model."""

from futurist import rejection, waiters
from futurist.exceptions import BrokenExecutor, RejectedSubmission, WorkerCrashed
from futurist.executors.process import ProcessPoolExecutor
from futurist.executors.synchronous import SynchronousExecutor
from futurist.executors.thread import ThreadPoolExecutor
from futurist.futures import CancelledError, Future, TimeoutError
from futurist.statistics import ExecutorStatistics

__all__ = [
    "BrokenExecutor",
    "CancelledError",
    "ExecutorStatistics",
    "Future",
    "ProcessPoolExecutor",
    "RejectedSubmission",
    "SynchronousExecutor",
    "ThreadPoolExecutor",
    "TimeoutError",
    "WorkerCrashed",
    "rejection",
    "waiters",
]
