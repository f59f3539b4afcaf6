"""Ready-made ``check_and_reject`` policies for executors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from futurist._seconds import optional_seconds
from futurist.exceptions import RejectedSubmission

__all__ = [
    "CheckAndReject",
    "RejectWhenReached",
    "WaitWhenReached",
    "backlog_capacity",
    "reject_when_reached",
    "wait_when_reached",
]

CheckAndReject = Callable[[Any, int], None]
"""``check_and_reject(executor, backlog)``: raise ``RejectedSubmission`` to refuse a submission.

One with an int ``max_backlog`` attribute declares the backlog's bound
(:func:`backlog_capacity`)."""


def _check_max_backlog(max_backlog: object) -> int:
    if isinstance(max_backlog, bool) or not isinstance(max_backlog, int):
        raise TypeError(f"max_backlog must be an integer, got {max_backlog!r}")
    if max_backlog < 0:
        raise ValueError(f"max_backlog must be >= 0, got {max_backlog}")
    return max_backlog


class RejectWhenReached:
    """The ``check_and_reject`` policy :func:`reject_when_reached` returns."""

    __slots__ = ("max_backlog",)

    def __init__(self, max_backlog: int) -> None:
        self.max_backlog = _check_max_backlog(max_backlog)
        """The most calls that may wait: the backlog's capacity, which executors publish."""

    def __call__(self, executor: Any, backlog: int) -> None:
        if backlog >= self.max_backlog:
            # The original futurist's words first: logs and alerts search for them.
            raise RejectedSubmission(
                f"Current backlog {backlog} is not allowed to go beyond {self.max_backlog}: "
                f"{type(executor).__name__} already has {backlog} calls queued and max_backlog "
                f"is {self.max_backlog}"
            )

    def __repr__(self) -> str:
        return f"reject_when_reached({self.max_backlog})"


def reject_when_reached(max_backlog: int) -> RejectWhenReached:
    """Refuse a submission once ``max_backlog`` calls are already queued.

    Up to ``max_backlog`` calls may wait for a worker; the next submission raises
    :class:`~futurist.RejectedSubmission`. With ``0`` every submission is refused, as in the
    original futurist: ``backlog`` counts the calls already waiting, and the call being
    submitted would wait too.
    """
    return RejectWhenReached(max_backlog)


def backlog_capacity(check_and_reject: object) -> int | None:
    """The most calls ``check_and_reject`` lets wait for a worker, or None if it does not say.

    A policy says it with an int ``max_backlog`` attribute, as the policies of this module do
    (and so the ``max_backlog`` config option); a callable of your own may declare one too.
    Executors publish it as their queue's capacity; without it the backlog counts as unbounded.
    """
    capacity = getattr(check_and_reject, "max_backlog", None)
    if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 0:
        return None
    return capacity


class WaitWhenReached:
    """The ``check_and_reject`` policy :func:`wait_when_reached` returns.

    Give it to an executor when the executor is built: the executor then tracks when calls
    leave its backlog, so a waiting submitter wakes as soon as one does.
    """

    waits_for_room = True
    """Tells the executor, as it is built, to track its backlog for waiting submitters."""

    __slots__ = ("max_backlog", "timeout")

    def __init__(self, max_backlog: int, timeout: float | None) -> None:
        self.max_backlog = _check_max_backlog(max_backlog)
        """The backlog submitters wait below: its capacity, which executors publish."""
        if max_backlog == 0:
            raise ValueError(
                "max_backlog must be >= 1 to wait for room (with 0 no call may ever queue, so "
                "every submission would wait for nothing); use reject_when_reached(0) to refuse"
            )
        self.timeout = optional_seconds("timeout", timeout, zero=True, infinite=True)

    def __call__(self, executor: Any, backlog: int) -> None:
        if backlog >= self.max_backlog:
            executor.wait_for_room(self.max_backlog, self.timeout)

    def __repr__(self) -> str:
        return f"wait_when_reached({self.max_backlog}, timeout={self.timeout})"


def wait_when_reached(max_backlog: int, timeout: float | None = None) -> WaitWhenReached:
    """Make a submission wait while ``max_backlog`` calls are already queued.

    The submitter waits (greenly on green kinds) until a queued call starts, then submits. With
    ``timeout`` (seconds) it gives up after that long with
    :class:`~futurist.RejectedSubmission`; a submission from one of the executor's own workers
    is refused at once (it could otherwise wait for itself), and a shutdown wakes every waiting
    submitter with ``RuntimeError``. Pass it as ``check_and_reject`` when building the executor.
    """
    return WaitWhenReached(max_backlog, timeout)
