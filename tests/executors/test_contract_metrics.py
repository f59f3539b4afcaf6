"""The observability part of the contract (names, live figures, unread failures), every kind."""

from __future__ import annotations

import gc
import logging
from typing import Any

import pytest

import futurist
from futurist import rejection, waiters
from futurist.executors.base import Executor
from futurist.metrics import BUCKETS
from tests.executors.kinds import Kind
from tests.executors.test_contract import WAIT, block_all_workers, fail, identity, needs_queue


def test_every_executor_has_a_name_its_figures_carry(kind: Kind) -> None:
    with kind.make(max_workers=2) as executor:
        assert isinstance(executor.name, str) and executor.name
        figures = executor.metrics
    assert figures.name == executor.name
    assert figures.kind


def test_live_figures_count_queued_running_rejected_and_queue_wait(
    kind: Kind, manager: Any
) -> None:
    needs_queue(kind)
    executor = kind.make(max_workers=1, check_and_reject=rejection.reject_when_reached(1))
    try:
        release, blockers = block_all_workers(kind, executor, manager)
        queued = executor.submit(identity, "queued")
        with pytest.raises(futurist.RejectedSubmission):
            executor.submit(identity, "refused")
        busy = executor.metrics
        release.set()
        assert queued.result(WAIT) == "queued"
    finally:
        executor.shutdown(wait=True)
    assert (busy.queued, busy.running, busy.rejected) == (1, len(blockers), 1)
    assert busy.max_workers == getattr(executor, "max_workers", None)
    done = executor.metrics
    assert (done.queued, done.running, done.rejected) == (0, 0, 1)
    assert done.statistics == executor.statistics
    executed = done.statistics.executed
    assert done.run_time.count == done.queue_wait.count == executed == len(blockers) + 1
    assert done.run_time.sum == pytest.approx(done.statistics.runtime)
    assert done.queue_wait.sum > 0
    assert len(done.run_time.counts) == len(BUCKETS) + 1


def _failed_future(executor: Executor) -> futurist.Future[Any]:
    future = executor.submit(fail, "nobody looked")
    waiters.wait_for_all([future], WAIT)
    assert future.done()
    return future


def _result_raising(future: futurist.Future[Any]) -> None:
    with pytest.raises(ValueError, match="nobody looked"):
        future.result()


def _unread_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if "nobody read" in record.getMessage()]


def test_a_failure_nobody_read_is_logged_once_when_its_future_is_collected(
    kind: Kind, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="futurist")
    with kind.make(max_workers=2) as executor:
        future = _failed_future(executor)
        del future
    # After shutdown no worker, loop or collector of the kind still holds the failed call.
    gc.collect()
    records = _unread_records(caplog)
    assert len(records) == 1
    record = records[0]
    assert record.levelno == logging.ERROR
    assert executor.name in record.getMessage() and "fail" in record.getMessage()
    assert record.exc_info is not None and str(record.exc_info[1]) == "nobody looked"
    assert "ValueError: nobody looked" in caplog.text


@pytest.mark.parametrize(
    "read",
    [
        lambda future: future.exception(),
        lambda future: future.exception_info(),
        _result_raising,
        lambda future: future.add_done_callback(lambda _: None),
    ],
    ids=["exception", "exception_info", "result", "done_callback"],
)
def test_a_failure_that_was_read_is_not_reported(
    kind: Kind, caplog: pytest.LogCaptureFixture, read: Any
) -> None:
    caplog.set_level(logging.ERROR, logger="futurist")
    with kind.make(max_workers=2) as executor:
        future = _failed_future(executor)
        read(future)
        del future
        gc.collect()
    assert _unread_records(caplog) == []
