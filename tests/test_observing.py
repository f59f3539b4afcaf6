"""Names, the histograms' lock-free recording, context propagation and their config options."""

from __future__ import annotations

import contextvars
import gc
import math
import random
import threading
from pathlib import Path
from typing import Any

import pytest
from oslo_config import cfg

import futurist
from futurist import plugins
from futurist.executors.delayed import DelayedExecutorMixin
from futurist.metrics import BUCKETS, Histogram
from futurist.statistics import FOLD_AT, StatisticsRecorder

WAIT = 30.0
request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="none")


class DelayedPool(DelayedExecutorMixin, futurist.ThreadPoolExecutor):
    """A thread pool that also takes ``submit_after``."""


def test_default_names_are_the_kind_and_a_number() -> None:
    with futurist.ThreadPoolExecutor() as one, futurist.ThreadPoolExecutor() as two:
        assert one.name.startswith("thread-") and two.name.startswith("thread-")
        assert one.name != two.name
    with futurist.SynchronousExecutor() as executor:
        assert executor.name.startswith("synchronous-")


def test_worker_threads_are_named_after_the_executor() -> None:
    with futurist.ThreadPoolExecutor(max_workers=1, name="billing") as executor:
        assert executor.submit(lambda: threading.current_thread().name).result(WAIT) == "billing_0"
    assert "'billing'" in repr(executor)


@pytest.mark.parametrize(("name", "error"), [(3, TypeError), ("", ValueError)])
def test_a_bad_name_is_refused(name: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match="name"):
        futurist.ThreadPoolExecutor(name=name)


def test_an_executor_s_recorder_tells_its_listeners_about_its_own_calls() -> None:
    heard: list[tuple[str, int]] = []

    def listener(recorder: StatisticsRecorder, runs: Any, waits: Any) -> None:
        heard.append((recorder.name, len(runs)))

    with futurist.SynchronousExecutor() as one, futurist.SynchronousExecutor() as other:
        assert isinstance(one.recorder, StatisticsRecorder) and one.recorder is not other.recorder
        one.recorder.listeners.append(listener)
        for executor in (one, other):
            executor.submit(pow, 2, 3).result()
            assert executor.statistics.executed == 1  # the snapshot folds, telling listeners
    assert heard == [(one.name, 1)]


@pytest.mark.parametrize(
    "make", [lambda: futurist.ThreadPoolExecutor(max_workers=1), futurist.SynchronousExecutor]
)
def test_runs_are_folded_as_they_pile_up_even_if_nobody_reads_the_figures(make: Any) -> None:
    told: list[int] = []

    def listener(recorder: StatisticsRecorder, runs: Any, waits: Any) -> None:
        told.append(len(runs))

    executor = make()
    executor.recorder.listeners.append(listener)
    for _ in range(FOLD_AT + 1):
        executor.submit(int)
    executor.shutdown(wait=True)
    # The run past FOLD_AT folded them all; the recorder keeps no backlog of entries.
    assert told == [FOLD_AT + 1]
    assert not executor.recorder.runs


def test_histograms_lose_no_value_recorded_from_many_threads() -> None:
    recorder = StatisticsRecorder()
    per_thread, threads = 5000, 8
    start = threading.Barrier(threads)

    def record() -> None:
        start.wait(WAIT)
        for n in range(per_thread):
            recorder.record_start(0.0)
            recorder.record_run(BUCKETS[n % 3], False)

    workers = [threading.Thread(target=record) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(WAIT)
    statistics, started, rejected, run_time, queue_wait = recorder.figures()
    total = per_thread * threads
    assert (statistics.executed, started, rejected) == (total, total, 0)
    assert queue_wait.counts[0] == total
    assert run_time.count == total
    assert run_time.counts[:3] == tuple(len(range(k, per_thread, 3)) * threads for k in range(3))


def test_a_value_on_a_bound_is_in_that_bound_s_bucket() -> None:
    recorder = StatisticsRecorder()
    recorder.record_run(BUCKETS[1], False)
    recorder.record_run(BUCKETS[-1] * 2, False)
    run_time = recorder.figures()[3]
    assert run_time.counts[1] == 1 and run_time.counts[-1] == 1
    assert (run_time.count, run_time.sum) == (2, BUCKETS[1] + BUCKETS[-1] * 2)
    assert Histogram().count == 0 and Histogram().bounds == BUCKETS


def test_every_value_lands_in_its_own_bucket_whatever_the_order() -> None:
    recorder = StatisticsRecorder()
    above = [math.nextafter(bound, math.inf) for bound in BUCKETS]
    values = [0.0, *BUCKETS, *above]
    random.Random(29).shuffle(values)
    for value in values:
        recorder.record_run(value, False)
    run_time = recorder.figures()[3]
    # Bucket 0 holds 0.0 and its bound; each later one its bound and the value just above the
    # bound before it; the last, the value just above every bound.
    assert run_time.counts == (2,) + (2,) * (len(BUCKETS) - 1) + (1,)
    assert run_time.count == len(values)


def _read_request_id() -> str:
    return request_id.get()


@pytest.mark.parametrize(
    "make",
    [
        futurist.ThreadPoolExecutor,
        futurist.DynamicThreadPoolExecutor,
        futurist.GreenThreadPoolExecutor,
        futurist.SynchronousExecutor,
        DelayedPool,
    ],
    ids=["thread", "thread_dynamic", "green", "synchronous", "delayed"],
)
def test_propagate_context_runs_calls_in_the_submitter_s_context(make: Any) -> None:
    token = request_id.set("req-42")
    try:
        with make(propagate_context=True) as executor:
            seen = executor.submit(_read_request_id)
            if isinstance(executor, DelayedPool):
                later = executor.submit_after(0, _read_request_id)
                assert later.result(WAIT) == "req-42"
            assert seen.result(WAIT) == "req-42"
    finally:
        request_id.reset(token)


def test_without_propagate_context_a_worker_thread_has_its_own_context() -> None:
    token = request_id.set("req-42")
    try:
        with futurist.ThreadPoolExecutor() as executor:
            assert executor.submit(_read_request_id).result(WAIT) == "none"
    finally:
        request_id.reset(token)


def test_a_call_cannot_change_the_submitter_s_context() -> None:
    def change() -> str:
        request_id.set("changed")
        return request_id.get()

    with futurist.SynchronousExecutor(propagate_context=True) as executor:
        assert executor.submit(change).result(WAIT) == "changed"
    assert request_id.get() == "none"


def test_process_and_dask_refuse_propagate_context_at_construction() -> None:
    with pytest.raises(ValueError, match="propagate_context=True is not possible with process"):
        futurist.ProcessPoolExecutor(propagate_context=True)
    with pytest.raises(ValueError, match="propagate_context=True is not possible with dask"):
        futurist.DaskExecutor(scheduler_address="tcp://127.0.0.1:1", propagate_context=True)


def _fail() -> None:
    raise ValueError("quiet")


def test_log_unread_failures_false_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    with futurist.SynchronousExecutor(log_unread_failures=False) as executor:
        future = executor.submit(_fail)
        assert future.done()
        del future
        gc.collect()
    assert "nobody read" not in caplog.text


def _from_config(tmp_path: Path, group: str, lines: list[str]) -> futurist.ThreadPoolExecutor:
    """Build the executor of ``group`` from a real config file holding ``lines``."""
    path = tmp_path / "service.conf"
    path.write_text("\n".join([f"[{group}]", *lines]) + "\n")
    conf = cfg.ConfigOpts()
    conf(args=["--config-file", str(path)], default_config_files=[])
    built = plugins.from_config(conf, group)
    assert isinstance(built, futurist.ThreadPoolExecutor)
    return built


def test_from_config_names_the_executor_after_its_group_and_reads_the_options(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    executor = _from_config(
        tmp_path,
        "api_pool",
        ["executor = thread", "log_unread_failures = false", "propagate_context = true"],
    )
    token = request_id.set("from-config")
    try:
        with executor:
            assert executor.name == "api_pool"
            assert executor.submit(_read_request_id).result(WAIT) == "from-config"
            failed = executor.submit(_fail)
            futurist.waiters.wait_for_all([failed], WAIT)
            del failed
            gc.collect()
    finally:
        request_id.reset(token)
    assert "nobody read" not in caplog.text
    assert "does not read it" not in caplog.text


def test_from_config_refuses_propagate_context_for_process(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="propagate_context=True is not possible with process"):
        _from_config(tmp_path, "crunch", ["executor = process", "propagate_context = true"])


def test_a_failure_a_done_callback_awaited_is_not_reported(
    caplog: pytest.LogCaptureFixture,
) -> None:
    release = threading.Event()
    seen: list[BaseException | None] = []

    def fail_when_released() -> None:
        assert release.wait(WAIT)
        _fail()

    with futurist.ThreadPoolExecutor(max_workers=1) as executor:
        future = executor.submit(fail_when_released)
        future.add_done_callback(lambda done: seen.append(done.exception()))
        release.set()
        futurist.waiters.wait_for_all([future], WAIT)
        del future
        gc.collect()
    assert len(seen) == 1
    assert "nobody read" not in caplog.text


def test_a_delayed_call_s_queue_wait_starts_when_it_is_due() -> None:
    delay = 2.0
    with DelayedPool(max_workers=1) as executor:
        assert executor.submit_after(delay, pow, 2, 3).result(WAIT) == 8
    queue_wait = executor.metrics.queue_wait
    assert queue_wait.count == 1
    assert queue_wait.sum < delay


def test_a_process_pool_reports_its_worker_processes() -> None:
    with futurist.ProcessPoolExecutor(max_workers=1) as executor:
        assert executor.submit(pow, 2, 5).result(WAIT) == 32
        figures = executor.metrics
    assert (figures.workers, figures.max_workers, figures.kind) == (1, 1, "process")
