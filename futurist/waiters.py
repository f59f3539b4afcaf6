"""Wait for several futures at once: any of them, or all of them, green or native.

Native futures are waited for with :func:`concurrent.futures.wait`. Green futures
(:class:`~futurist.GreenFuture`) are waited for with a green event, so other green threads keep
running meanwhile. A list mixing both kinds is waited for greenly after ``eventlet.monkey_patch()``
(threads are then green too); otherwise it is refused with ``RuntimeError``, as in futurist 3.5:
a native wait would block the eventlet hub that has to finish the green futures, and a green
wait cannot be woken by a native thread, so either way the wait could hang.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Iterable
from concurrent.futures._base import CANCELLED_AND_NOTIFIED, FINISHED
from contextlib import ExitStack
from typing import Any, NamedTuple

from futurist._eventlet import green_event, threads_are_green
from futurist.futures import GreenFuture

__all__ = ["DoneAndNotDoneFutures", "wait_for_all", "wait_for_any"]

_DONE_STATES = (CANCELLED_AND_NOTIFIED, FINISHED)


class DoneAndNotDoneFutures(NamedTuple):
    """What a wait returns: the futures that are done and those that are not."""

    done: set[concurrent.futures.Future[Any]]
    not_done: set[concurrent.futures.Future[Any]]


def wait_for_any(
    fs: Iterable[concurrent.futures.Future[Any]], timeout: float | None = None
) -> DoneAndNotDoneFutures:
    """Wait until at least one of ``fs`` is done (or ``timeout`` seconds pass).

    A future listed twice is counted once. Green futures are waited for greenly; mixing green
    and native futures raises ``RuntimeError`` unless eventlet has monkey patched threads.
    """
    return _wait(fs, timeout, concurrent.futures.FIRST_COMPLETED)


def wait_for_all(
    fs: Iterable[concurrent.futures.Future[Any]], timeout: float | None = None
) -> DoneAndNotDoneFutures:
    """Wait until every one of ``fs`` is done (or ``timeout`` seconds pass).

    A future listed twice is counted once. Green futures are waited for greenly; mixing green
    and native futures raises ``RuntimeError`` unless eventlet has monkey patched threads.
    """
    return _wait(fs, timeout, concurrent.futures.ALL_COMPLETED)


def _wait(
    fs: Iterable[concurrent.futures.Future[Any]], timeout: float | None, return_when: str
) -> DoneAndNotDoneFutures:
    futures = set(fs)
    green = sum(1 for future in futures if isinstance(future, GreenFuture))
    if green == 0:
        done, not_done = concurrent.futures.wait(futures, timeout=timeout, return_when=return_when)
        return DoneAndNotDoneFutures(done, not_done)
    if green < len(futures) and not threads_are_green():
        raise RuntimeError(
            f"cannot wait for green and native futures together ({green} green, "
            f"{len(futures) - green} native): a native wait would block the eventlet hub and a "
            "green wait cannot be woken by native threads; wait for each kind separately"
        )
    return _wait_green(futures, timeout, return_when)


class _GreenWaiter:
    """Receives completions the way :func:`concurrent.futures.wait`'s waiters do, greenly.

    A future calls ``add_result``/``add_exception``/``add_cancelled`` on each waiter in its
    ``_waiters`` list as it finishes; the waiter sends its green event once enough are done.
    """

    def __init__(self, remaining: int) -> None:
        self.event = green_event()
        self.remaining = remaining

    def _one_done(self, future: concurrent.futures.Future[Any]) -> None:
        self.remaining -= 1
        if self.remaining == 0 and not self.event.ready():
            self.event.send()

    add_result = add_exception = add_cancelled = _one_done


def _wait_green(
    futures: set[concurrent.futures.Future[Any]], timeout: float | None, return_when: str
) -> DoneAndNotDoneFutures:
    """Install a green waiter on every pending future and wait for its event."""
    ordered = sorted(futures, key=id)
    with ExitStack() as locked:
        for future in ordered:
            locked.enter_context(future._condition)
        done = {future for future in ordered if future._state in _DONE_STATES}
        not_done = futures - done
        if not not_done or (done and return_when == concurrent.futures.FIRST_COMPLETED):
            return DoneAndNotDoneFutures(done, not_done)
        needed = 1 if return_when == concurrent.futures.FIRST_COMPLETED else len(not_done)
        waiter = _GreenWaiter(needed)
        for future in not_done:
            future._waiters.append(waiter)  # type: ignore[arg-type]
    try:
        waiter.event.wait(timeout)
    finally:
        for future in not_done:
            with future._condition:
                future._waiters.remove(waiter)  # type: ignore[arg-type]
    done = {future for future in futures if future._state in _DONE_STATES}
    return DoneAndNotDoneFutures(done, futures - done)
