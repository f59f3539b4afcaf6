"""Wait for several futures at once: any of them, or all of them."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Iterable
from typing import Any, NamedTuple

__all__ = ["DoneAndNotDoneFutures", "wait_for_all", "wait_for_any"]


class DoneAndNotDoneFutures(NamedTuple):
    """What a wait returns: the futures that are done and those that are not."""

    done: set[concurrent.futures.Future[Any]]
    not_done: set[concurrent.futures.Future[Any]]


def wait_for_any(
    fs: Iterable[concurrent.futures.Future[Any]], timeout: float | None = None
) -> DoneAndNotDoneFutures:
    """Wait until at least one of ``fs`` is done (or ``timeout`` seconds pass).

    A future listed twice is counted once.
    """
    return _wait(fs, timeout, concurrent.futures.FIRST_COMPLETED)


def wait_for_all(
    fs: Iterable[concurrent.futures.Future[Any]], timeout: float | None = None
) -> DoneAndNotDoneFutures:
    """Wait until every one of ``fs`` is done (or ``timeout`` seconds pass).

    A future listed twice is counted once.
    """
    return _wait(fs, timeout, concurrent.futures.ALL_COMPLETED)


def _wait(
    fs: Iterable[concurrent.futures.Future[Any]], timeout: float | None, return_when: str
) -> DoneAndNotDoneFutures:
    futures = set(fs)
    done, not_done = concurrent.futures.wait(futures, timeout=timeout, return_when=return_when)
    return DoneAndNotDoneFutures(done, not_done)
