"""WrappedExecutor: a plain concurrent.futures executor given futurist's contract."""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import threading

import pytest

import futurist
from futurist.executors.wrapped import WrappedExecutor
from futurist.rejection import reject_when_reached


def test_inner_must_be_an_executor() -> None:
    with pytest.raises(TypeError, match=r"inner must be a concurrent\.futures\.Executor, got int"):
        WrappedExecutor(3)  # type: ignore[arg-type]


def test_runs_calls_on_the_inner_executor_with_statistics() -> None:
    inner = concurrent.futures.ThreadPoolExecutor(2, thread_name_prefix="inner")
    with WrappedExecutor(inner) as executor:
        name = executor.submit(lambda: threading.current_thread().name).result()
        assert name.startswith("inner")
        with pytest.raises(ZeroDivisionError):
            executor.submit(divmod, 1, 0).result()
        assert isinstance(executor.submit(int).result(), int)
    stats = executor.statistics
    assert (stats.executed, stats.failures) == (3, 1)
    assert inner._shutdown


def test_backlog_counts_calls_not_yet_started() -> None:
    started, release = threading.Event(), threading.Event()
    executor = WrappedExecutor(
        concurrent.futures.ThreadPoolExecutor(1), check_and_reject=reject_when_reached(1)
    )

    def block() -> None:
        started.set()
        release.wait()

    try:
        first = executor.submit(block)
        started.wait()
        second = executor.submit(block)
        with pytest.raises(futurist.RejectedSubmission, match="1 calls queued"):
            executor.submit(block)
        release.set()
        first.result()
        second.result()
        # Nothing waits any more, so the next submission is accepted.
        executor.submit(int).result()
    finally:
        release.set()
        executor.shutdown()


def test_inner_refusing_a_call_raises_and_counts_nothing() -> None:
    inner = concurrent.futures.ThreadPoolExecutor(1)
    inner.shutdown()
    executor = WrappedExecutor(inner)
    with pytest.raises(RuntimeError, match="cannot schedule new futures"):
        executor.submit(int)
    assert executor.metrics.queued == 0
    executor.shutdown(wait=True)
    assert executor.statistics.executed == 0


def test_an_inner_future_cancelled_outside_cancels_the_call() -> None:
    started, release = threading.Event(), threading.Event()
    inner = concurrent.futures.ThreadPoolExecutor(1)
    executor = WrappedExecutor(inner)

    def block() -> None:
        started.set()
        release.wait()

    blocker = executor.submit(block)
    started.wait()
    queued = executor.submit(int)
    inner.shutdown(wait=False, cancel_futures=True)
    assert queued.cancelled()
    release.set()
    blocker.result()
    executor.shutdown()
    assert executor.statistics.cancelled == 1


def test_an_executor_using_other_processes_gets_a_clear_error() -> None:
    # spawn: a forked child of this multi-threaded test process could hang on an inherited lock.
    inner = concurrent.futures.ProcessPoolExecutor(
        1, mp_context=multiprocessing.get_context("spawn")
    )
    with WrappedExecutor(inner) as executor:
        future = executor.submit(abs, -1)
        with pytest.raises(TypeError, match="must be written as a futurist kind"):
            future.result()
    assert executor.statistics.failures == 1


def test_kind_names_the_executor_and_must_be_a_non_empty_str() -> None:
    inner = concurrent.futures.ThreadPoolExecutor(1)
    with WrappedExecutor(inner, kind="vendor_pool") as executor:
        assert (executor.kind, executor.metrics.kind) == ("vendor_pool", "vendor_pool")
        assert executor.name.startswith("vendor_pool-")
    with pytest.raises(TypeError, match="kind must be a str or None, got int 3"):
        WrappedExecutor(inner, kind=3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="kind must not be empty"):
        WrappedExecutor(inner, kind="")
    with WrappedExecutor(concurrent.futures.ThreadPoolExecutor(1)) as unnamed:
        assert unnamed.kind == "wrapped"
