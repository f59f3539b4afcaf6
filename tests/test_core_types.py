"""Futures, statistics, rejection policies and waiters through the public API."""

from __future__ import annotations

import collections
import concurrent.futures
import sys
import threading
from typing import Any

import pytest

import futurist
from futurist import rejection, waiters
from futurist.statistics import StatisticsRecorder

WAIT = 30.0


def test_future_is_a_standard_future_with_exception_info() -> None:
    future: futurist.Future[int] = futurist.Future()
    assert isinstance(future, concurrent.futures.Future)
    try:
        raise KeyError("k")
    except KeyError:
        exc, tb = sys.exc_info()[1:]
        assert exc is not None
        future.set_exception_info(exc, tb)
    got, traceback = future.exception_info(0)
    assert isinstance(got, KeyError)
    assert traceback is tb


def test_exception_info_of_a_success_is_empty() -> None:
    future: futurist.Future[int] = futurist.Future()
    future.set_result(3)
    assert future.exception_info() == (None, None)


def test_exception_info_waits_and_times_out() -> None:
    future: futurist.Future[int] = futurist.Future()
    with pytest.raises(futurist.TimeoutError):
        future.exception_info(timeout=0)
    assert future.cancel()
    with pytest.raises(futurist.CancelledError):
        future.exception_info()


def test_errors_are_the_standard_librarys() -> None:
    assert futurist.CancelledError is concurrent.futures.CancelledError
    assert futurist.TimeoutError is concurrent.futures.TimeoutError


def test_statistics_are_immutable_values() -> None:
    stats = futurist.ExecutorStatistics(failures=1, executed=4, runtime=2.0, cancelled=3)
    assert stats == futurist.ExecutorStatistics(1, 4, 2.0, 3)
    assert stats.average_runtime == 0.5
    assert repr(stats) == ("ExecutorStatistics(failures=1, executed=4, runtime=2.0, cancelled=3)")
    with pytest.raises(AttributeError):
        stats.executed = 5  # type: ignore[misc]
    with pytest.raises(ZeroDivisionError):
        _ = futurist.ExecutorStatistics().average_runtime


@pytest.mark.parametrize("backlog", [0, 1, 2])
def test_reject_when_reached_allows_up_to_max_backlog(backlog: int) -> None:
    rejection.reject_when_reached(3)(object(), backlog)


def test_reject_when_reached_refuses_at_max_backlog() -> None:
    with pytest.raises(futurist.RejectedSubmission, match="3 calls queued"):
        rejection.reject_when_reached(3)(object(), 3)


def test_reject_when_reached_zero_refuses_every_submission() -> None:
    with pytest.raises(futurist.RejectedSubmission, match="max_backlog is 0"):
        rejection.reject_when_reached(0)(object(), 0)


@pytest.mark.parametrize(
    ("value", "error"), [(-1, ValueError), (1.0, TypeError), (None, TypeError)]
)
def test_reject_when_reached_bad_input(value: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match="max_backlog"):
        rejection.reject_when_reached(value)


class _DeclaredBound:
    """A policy of one's own that declares its bound."""

    max_backlog = 9

    def __call__(self, executor: Any, backlog: int) -> None:
        if backlog >= self.max_backlog:
            raise futurist.RejectedSubmission("full")


@pytest.mark.parametrize(
    ("check", "capacity"),
    [
        (rejection.reject_when_reached(0), 0),
        (rejection.reject_when_reached(4), 4),
        (rejection.wait_when_reached(2, timeout=1), 2),
        (_DeclaredBound(), 9),
        (lambda executor, backlog: None, None),
        (None, None),
    ],
)
def test_backlog_capacity_is_the_bound_a_policy_declares(check: Any, capacity: int | None) -> None:
    assert rejection.backlog_capacity(check) == capacity
    with futurist.ThreadPoolExecutor(1, check) as executor:
        assert executor.metrics.queue_capacity == capacity


def test_wait_for_any_returns_once_one_is_done() -> None:
    first: futurist.Future[int] = futurist.Future()
    second: futurist.Future[int] = futurist.Future()
    threading.Thread(target=first.set_result, args=(1,)).start()
    done, not_done = waiters.wait_for_any([first, second], WAIT)
    assert (done, not_done) == ({first}, {second})


def test_wait_for_all_times_out_with_what_is_not_done() -> None:
    done_future: futurist.Future[int] = futurist.Future()
    done_future.set_result(1)
    pending: futurist.Future[int] = futurist.Future()
    result = waiters.wait_for_all([done_future, pending, pending], timeout=0)
    assert isinstance(result, waiters.DoneAndNotDoneFutures)
    assert result.done == {done_future}
    assert result.not_done == {pending}


def test_a_backlog_turned_into_a_priority_backlog_keeps_its_items_and_orders_them() -> None:
    """``PriorityBacklog.of`` is what a kind's ``use_priorities`` assigns to its backlog."""
    recorder = StatisticsRecorder("backlog", "test", log_unread_failures=True)

    def item(value: int, priority: int | None = None) -> futurist.WorkItem:
        made = futurist.WorkItem(futurist.Future(), int, (value,), {}, recorder)
        if priority is not None:
            made.priority = priority
        return made

    queued = collections.deque([item(1), item(2)])
    backlog = futurist.PriorityBacklog.of(queued)
    backlog.append(item(3, priority=5))
    backlog.append(item(4))
    assert [backlog.popleft().args[0] for _ in range(len(backlog))] == [3, 1, 2, 4]
    assert futurist.PriorityBacklog.of(backlog) is backlog
