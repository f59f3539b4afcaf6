"""The errors futurist raises, beyond the standard library's."""

from __future__ import annotations

from concurrent.futures import BrokenExecutor

__all__ = ["BrokenExecutor", "RejectedSubmission", "WorkerCrashed"]


class RejectedSubmission(Exception):
    """A submission was refused by the executor's ``check_and_reject`` policy.

    Nothing was queued and nothing was recorded in the executor's statistics.
    """


class WorkerCrashed(BrokenExecutor):
    """The worker process running a task died before the task finished.

    Only the task that was running fails with this error; the pool replaces the worker.
    """
