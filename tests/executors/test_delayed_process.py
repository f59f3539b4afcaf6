"""Delayed submission mixed into the process pool: what crosses the boundary must pickle."""

from __future__ import annotations

import multiprocessing
import pickle
import threading
from typing import Any

import pytest

from futurist import DelayedExecutorMixin, ProcessPoolExecutor


class DelayedProcessPool(DelayedExecutorMixin, ProcessPoolExecutor):
    """The process pool with ``submit_after``."""


def _fail(message: str) -> None:
    raise ValueError(message)


def test_delayed_work_runs_in_a_worker_process() -> None:
    with DelayedProcessPool(max_workers=1) as executor:
        futures = [executor.submit_after(0.01 * n, pow, 2, n) for n in range(4)]
        assert [future.result(timeout=60) for future in futures] == [1, 2, 4, 8]
    assert executor.statistics.executed == 4


def test_delayed_failures_cross_back_and_are_counted() -> None:
    with DelayedProcessPool(max_workers=1) as executor:
        future = executor.submit_after(0, _fail, "from the child")
        with pytest.raises(ValueError, match="from the child"):
            future.result(timeout=60)
    assert executor.statistics.failures == 1


def test_unpicklable_delayed_work_fails_its_future() -> None:
    with DelayedProcessPool(max_workers=1) as executor:
        future = executor.submit_after(0, pow, threading.Lock(), 2)
        exc = future.exception(timeout=60)
    assert isinstance(exc, pickle.PicklingError | AttributeError | TypeError)
    assert executor.statistics.failures == 1


def test_pending_delayed_process_work_is_cancelled_by_shutdown() -> None:
    executor = DelayedProcessPool(max_workers=1)
    future = executor.submit_after(1000, pow, 2, 2)
    executor.shutdown(wait=True, cancel_futures=True)
    assert future.cancelled()
    assert executor.statistics.cancelled == 1


def _submit_after_in_a_forked_child(executor: Any, conn: Any) -> None:
    exc = executor.submit_after(0, pow, 2, 2).exception(timeout=60)
    conn.send(f"{type(exc).__name__}: {exc}")


def test_delayed_work_from_a_forked_child_meets_the_fork_guard() -> None:
    context = multiprocessing.get_context("fork")
    executor = DelayedProcessPool(max_workers=1, mp_context=context)
    parent_end, child_end = context.Pipe()
    child = context.Process(target=_submit_after_in_a_forked_child, args=(executor, child_end))
    child.start()
    try:
        assert parent_end.poll(60)
        assert parent_end.recv().startswith("RuntimeError: cannot submit to")
    finally:
        child.join(60)
        executor.shutdown()
    assert child.exitcode == 0


def test_stopping_a_call_still_waiting_for_its_deadline_cancels_it() -> None:
    with DelayedProcessPool(max_workers=1) as executor:
        waiting = executor.submit_after(3600, pow, 2, 10)
        due = executor.submit_after(0, pow, 2, 3)
        executor.stop(waiting)
        assert waiting.cancelled()
        assert due.result(timeout=60) == 8
        with pytest.raises(ValueError, match="already done"):
            executor.stop(waiting)
    assert (executor.statistics.executed, executor.statistics.cancelled) == (1, 1)


def test_drain_cancels_delayed_process_calls_still_waiting_and_reports_them() -> None:
    executor = DelayedProcessPool(max_workers=1)
    waiting = executor.submit_after(1000, pow, 2, 2)
    assert executor.submit_after(0, pow, 2, 4).result(timeout=60) == 16
    assert executor.drain(0) == {waiting}
    assert waiting.cancelled()
    stats = executor.statistics
    assert (stats.executed, stats.cancelled) == (1, 1)
