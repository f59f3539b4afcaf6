"""Ready-made ``check_and_reject`` policies for executors."""

from __future__ import annotations

from typing import Any

from futurist.exceptions import RejectedSubmission
from futurist.executors.base import CheckAndReject

__all__ = ["reject_when_reached"]


def reject_when_reached(max_backlog: int) -> CheckAndReject:
    """Refuse a submission once ``max_backlog`` calls are already queued.

    Up to ``max_backlog`` calls may wait for a worker; the next submission raises
    :class:`~futurist.RejectedSubmission`. With ``0`` every submission is refused, as in the
    original futurist: ``backlog`` counts the calls already waiting, and the call being
    submitted would wait too.
    """
    if isinstance(max_backlog, bool) or not isinstance(max_backlog, int):
        raise TypeError(f"max_backlog must be an integer, got {max_backlog!r}")
    if max_backlog < 0:
        raise ValueError(f"max_backlog must be >= 0, got {max_backlog}")

    def _rejector(executor: Any, backlog: int) -> None:
        if backlog >= max_backlog:
            # The original futurist's words first: logs and alerts search for them.
            raise RejectedSubmission(
                f"Current backlog {backlog} is not allowed to go beyond {max_backlog}: "
                f"{type(executor).__name__} already has {backlog} calls queued and max_backlog "
                f"is {max_backlog}"
            )

    return _rejector
