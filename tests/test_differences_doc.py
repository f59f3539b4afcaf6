"""Every difference docs/differences.rst lists still exists, and each has a check here.

Each section of the page starts with a label ``.. _diff-<id>:``; ``CHECKS`` maps each id to a
function that shows the difference through the public API. When a check fails, the difference
is gone: remove its section (and its check), or restore the behaviour.
"""

from __future__ import annotations

import concurrent.futures
import concurrent.futures.process
import gc
import inspect
import logging
import math
import multiprocessing
import os
import pickle
import re
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import futurist
import tests.executors.test_dynamic as dynamic_tests
import tests.executors.test_green as green_tests
import tests.executors.test_process as process_tests
import tests.executors.test_thread as thread_tests
import tests.test_process_hostile as hostile_tests
from futurist import rejection
from futurist.periodics import PeriodicWorker, periodic
from futurist.waiters import wait_for_any
from tests.executors.kinds import shared_manager

PAGE = Path(__file__).resolve().parent.parent / "docs" / "differences.rst"
WAIT = 30.0


@periodic(3600)
def hourly() -> None:
    """A periodic callable that is never due during a check."""


def process_crash() -> None:
    with process_tests.make("fork", max_workers=1) as executor:
        with pytest.raises(futurist.WorkerCrashed) as caught:
            executor.submit(process_tests.exit_with, 3).result(WAIT)
        assert isinstance(caught.value, concurrent.futures.BrokenExecutor)
        assert executor.submit(process_tests.identity, "next").result(WAIT) == "next"


def process_sigterm() -> None:
    previous = signal.signal(signal.SIGTERM, lambda number, frame: None)
    try:
        with process_tests.make("fork", max_workers=1) as executor:
            handler = executor.submit(signal.getsignal, signal.SIGTERM).result(WAIT)
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert handler == signal.SIG_DFL


def process_delivery() -> None:
    with process_tests.make("fork", max_workers=1) as executor:
        exc = executor.submit(process_tests.identity, threading.Lock()).exception(WAIT)
        assert isinstance(exc, futurist.PicklingFailed) and not isinstance(exc, TypeError)
        assert isinstance(exc, concurrent.futures.process.BrokenProcessPool)
        assert executor.submit(process_tests.identity, "next").result(WAIT) == "next"


def process_by_value() -> None:
    with process_tests.make("forkserver", max_workers=1) as executor:
        assert executor.submit(lambda: "by value").result(WAIT) == "by value"
    context = multiprocessing.get_context("forkserver")
    with concurrent.futures.ProcessPoolExecutor(1, context) as stdlib:
        # PicklingError up to 3.12, AttributeError ("Can't get local object") from 3.13.
        with pytest.raises((pickle.PicklingError, AttributeError)):
            stdlib.submit(lambda: "by value").result(WAIT)


def process_exit_grace() -> None:
    executor = process_tests.make("fork", max_workers=1)
    worker = executor.submit(hostile_tests.leave_a_timer_running).result(WAIT)
    executor.shutdown(wait=True)
    assert not hostile_tests.running(worker)


def process_cancel_futures() -> None:
    with shared_manager() as manager:
        started, release = manager.Event(), manager.Event()
        executor = process_tests.make("spawn", max_workers=1)
        busy = executor.submit(process_tests.wait_for, started, release, "busy")
        assert started.wait(WAIT)
        # The standard library would already count max_workers + 1 of these as running.
        queued = [executor.submit(process_tests.identity, n) for n in range(3)]
        executor.shutdown(wait=False, cancel_futures=True)
        release.set()
        executor.shutdown(wait=True)
    assert busy.result() == "busy"
    assert all(future.cancelled() for future in queued)


def _fail() -> None:
    raise ValueError("nobody reads this")


def unread_failures() -> None:
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign,assignment]
    logger = logging.getLogger("futurist.futures")
    logger.addHandler(handler)
    try:
        with futurist.ThreadPoolExecutor(max_workers=1, name="unread") as executor:
            future = executor.submit(_fail)
            concurrent.futures.wait([future], timeout=WAIT)
        del future
        gc.collect()
    finally:
        logger.removeHandler(handler)
    (record,) = [r for r in records if r.levelno == logging.ERROR]
    assert "unread" in record.getMessage()


def thread_names() -> None:
    with futurist.ThreadPoolExecutor(max_workers=1, name="named") as executor:
        name = executor.submit(lambda: threading.current_thread().name).result(WAIT)
    assert name.startswith("named_")


def flow_methods() -> None:
    assert not hasattr(concurrent.futures.ThreadPoolExecutor, "stop")
    release = threading.Event()
    with futurist.ThreadPoolExecutor(max_workers=1) as executor:
        future = executor.submit(release.wait, WAIT)
        with pytest.raises(futurist.StopNotSupported):
            executor.stop(future)
        release.set()


class _RecordingCondition(threading.Condition):
    """A condition that records the timeout of every wait."""

    def __init__(self) -> None:
        super().__init__()
        self.timeouts: list[float | None] = []
        self.waiting = threading.Event()

    def wait(self, timeout: float | None = None) -> bool:
        self.timeouts.append(timeout)
        self.waiting.set()
        return super().wait(timeout)


def _first_wait_of_the_periodic_loop(worker_callables: list[Any]) -> float | None:
    conditions: list[_RecordingCondition] = []

    def make_condition() -> _RecordingCondition:
        conditions.append(_RecordingCondition())
        return conditions[-1]

    worker = PeriodicWorker(worker_callables, cond_cls=make_condition, now_func=lambda: 0.0)
    runner = threading.Thread(target=worker.start, kwargs={"allow_empty": True})
    runner.start()
    assert conditions[0].waiting.wait(WAIT)
    worker.stop()
    runner.join(WAIT)
    assert not runner.is_alive()
    return conditions[0].timeouts[0]


def no_polling() -> None:
    # futurist 3.5 capped every wait at 30 s (MAX_LOOP_IDLE): it woke up to look around.
    assert _first_wait_of_the_periodic_loop([]) is None
    assert _first_wait_of_the_periodic_loop([(hourly, (), {})]) == 3600.0
    assert not hasattr(PeriodicWorker, "MAX_LOOP_IDLE")


def strategy_functions() -> None:
    assert PeriodicWorker.BUILT_IN_STRATEGIES["last_started"](2.0, 10.0, 10.5) == 12.0


def runtime_excludes_queue() -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        thread_tests.test_runtime_excludes_time_spent_queued(monkeypatch)


def submit_non_callable() -> None:
    with futurist.ThreadPoolExecutor(max_workers=1) as executor:
        with pytest.raises(TypeError, match="submit"):
            executor.submit(42)  # type: ignore[arg-type]
    assert executor.statistics.executed == 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as standard:
        assert isinstance(standard.submit(42).exception(WAIT), TypeError)  # type: ignore[arg-type]


def base_exceptions() -> None:
    with futurist.SynchronousExecutor() as executor:
        assert isinstance(executor.submit(sys.exit, 3).exception(WAIT), SystemExit)
    with futurist.ThreadPoolExecutor(max_workers=1) as executor:
        worker = executor.submit(threading.current_thread).result(WAIT)
        assert isinstance(executor.submit(sys.exit, 3).exception(WAIT), SystemExit)
        assert executor.submit(threading.current_thread).result(WAIT) is worker


def map_buffersize() -> None:
    with futurist.ThreadPoolExecutor(max_workers=2) as executor:
        assert list(executor.map(abs, [-1, -2, -3], buffersize=1)) == [1, 2, 3]
    standard = inspect.signature(concurrent.futures.Executor.map).parameters
    assert ("buffersize" in standard) == (sys.version_info >= (3, 14))


def cancel_futures() -> None:
    started, release = threading.Event(), threading.Event()

    def block() -> None:
        started.set()
        release.wait(WAIT)

    executor = futurist.ThreadPoolExecutor(max_workers=1)
    executor.submit(block)
    assert started.wait(WAIT)
    queued = executor.submit(int)
    executor.shutdown(wait=False, cancel_futures=True)
    release.set()
    executor.shutdown(wait=True)
    assert queued.cancelled()


def mixed_waiters() -> None:
    green: futurist.GreenFuture[int] = futurist.GreenFuture()
    native: futurist.Future[int] = futurist.Future()
    with pytest.raises(RuntimeError, match="wait for each kind separately"):
        wait_for_any([green, native], timeout=0)
    green_tests.test_works_in_a_monkey_patched_program()


def strict_arguments() -> None:
    refused: list[tuple[Callable[[], object], type[Exception]]] = [
        (lambda: futurist.ThreadPoolExecutor(max_workers=2.0), TypeError),  # type: ignore[arg-type]
        (lambda: futurist.ThreadPoolExecutor(max_workers=True), TypeError),
        (lambda: futurist.ThreadPoolExecutor(thread_name_prefix=5), TypeError),  # type: ignore[arg-type]
        (lambda: futurist.ProcessPoolExecutor(mp_context="spawn"), TypeError),  # type: ignore[arg-type]
        (lambda: futurist.ThreadPoolExecutor(check_and_reject=5), TypeError),  # type: ignore[arg-type]
        (lambda: rejection.reject_when_reached(-1), ValueError),
        (lambda: rejection.reject_when_reached(2.5), TypeError),  # type: ignore[arg-type]
        (lambda: periodic(math.inf), ValueError),
        (lambda: periodic(True), TypeError),
    ]
    for make, error in refused:
        with pytest.raises(error):
            make()
    with futurist.ThreadPoolExecutor(max_workers=1) as executor:
        with pytest.raises(ValueError):
            executor.map(abs, [1], chunksize=0)
        for arguments in ({"chunksize": "2"}, {"chunksize": True}, {"buffersize": True}):
            with pytest.raises(TypeError):
                executor.map(abs, [1], **arguments)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as standard:
        assert list(standard.map(abs, [-1], chunksize="2")) == [1]  # type: ignore[arg-type]
        assert list(standard.map(abs, [-1], chunksize=True)) == [1]
    # The standard library takes a float.
    with concurrent.futures.ThreadPoolExecutor(max_workers=2.0) as standard:  # type: ignore[call-overload]
        assert standard.submit(abs, -1).result(WAIT) == 1


def default_max_workers() -> None:
    with futurist.ThreadPoolExecutor() as executor:
        assert executor.max_workers == 5 * (os.cpu_count() or 1)


def future_class() -> None:
    assert futurist.Future is not concurrent.futures.Future
    assert issubclass(futurist.Future, concurrent.futures.Future)
    assert not isinstance(concurrent.futures.Future(), futurist.Future)
    synchronous = futurist.SynchronousExecutor().submit(int)
    assert type(synchronous) is not futurist.Future
    assert isinstance(synchronous, futurist.Future)


def process_pool_class() -> None:
    assert not issubclass(futurist.ProcessPoolExecutor, concurrent.futures.ProcessPoolExecutor)
    assert issubclass(futurist.ProcessPoolExecutor, concurrent.futures.Executor)


def statistics_value() -> None:
    first, second = (
        futurist.ExecutorStatistics(1, 2, 3.0, 4),
        futurist.ExecutorStatistics(1, 2, 3.0, 4),
    )
    assert first is not second
    assert first == second and hash(first) == hash(second)


def dynamic_retire() -> None:
    dynamic_tests.test_idle_threads_retire_by_themselves_down_to_min_workers()


def forked_thread_pool() -> None:
    thread_tests.test_a_forked_child_runs_calls_on_fresh_workers_of_its_inherited_pool(
        futurist.ThreadPoolExecutor
    )


def periodic_same_function() -> None:
    def job() -> None:
        """Marked, not wrapped."""

    assert periodic(1.0)(job) is job
    with pytest.raises(TypeError):
        periodic(1.0)(42)  # type: ignore[type-var]


def periodic_refused_run() -> None:
    failures: list[BaseException] = []

    def on_failure(
        callback: Callable[..., Any],
        kind: str,
        spacing: float,
        exc_info: Any,
        traceback: Any = None,
    ) -> None:
        failures.append(exc_info[1])
        worker.stop()

    @periodic(3600, run_immediately=True)
    def job() -> None:
        """Never runs: the executor refuses every submission."""

    refusing = futurist.SynchronousExecutor(check_and_reject=rejection.reject_when_reached(0))
    worker = PeriodicWorker(
        [(job, (), {})], executor_factory=lambda: refusing, on_failure=on_failure
    )
    worker.start()
    (watcher,) = worker.iter_watchers()
    assert isinstance(failures[0], futurist.RejectedSubmission)
    assert (watcher.runs, watcher.failures) == (1, 1)


def periodic_reset_running() -> None:
    errors: list[RuntimeError] = []

    @periodic(3600, run_immediately=True)
    def job() -> None:
        try:
            worker.reset()
        except RuntimeError as exc:
            errors.append(exc)
        worker.stop()

    worker = PeriodicWorker([(job, (), {})])
    worker.start()
    assert "stop() and wait() first" in str(errors[0])


def pformat_table() -> None:
    worker = PeriodicWorker([(hourly, (), {})])
    lines = worker.pformat(["Name", "Active", "Average elapsed"]).splitlines()
    assert [cell.strip() for cell in lines[3].split("|")[2:-1]] == ["No", "-"]


CHECKS: dict[str, Callable[[], None]] = {
    "process-crash": process_crash,
    "process-sigterm": process_sigterm,
    "process-delivery": process_delivery,
    "process-by-value": process_by_value,
    "process-cancel-futures": process_cancel_futures,
    "process-exit-grace": process_exit_grace,
    "unread-failures": unread_failures,
    "thread-names": thread_names,
    "flow-methods": flow_methods,
    "no-polling": no_polling,
    "runtime-excludes-queue": runtime_excludes_queue,
    "submit-non-callable": submit_non_callable,
    "base-exceptions": base_exceptions,
    "map-buffersize": map_buffersize,
    "cancel-futures": cancel_futures,
    "mixed-waiters": mixed_waiters,
    "strict-arguments": strict_arguments,
    "default-max-workers": default_max_workers,
    "future-class": future_class,
    "process-pool-class": process_pool_class,
    "statistics-value": statistics_value,
    "dynamic-retire": dynamic_retire,
    "forked-thread-pool": forked_thread_pool,
    "periodic-same-function": periodic_same_function,
    "strategy-functions": strategy_functions,
    "periodic-refused-run": periodic_refused_run,
    "periodic-reset-running": periodic_reset_running,
    "pformat-table": pformat_table,
}


def documented() -> list[str]:
    return re.findall(r"^\.\. _diff-([\w-]+):$", PAGE.read_text(), re.MULTILINE)


def test_every_documented_difference_has_a_check_and_every_check_a_section() -> None:
    ids = documented()
    assert len(ids) == len(set(ids)), "a label is used twice in docs/differences.rst"
    assert set(ids) == set(CHECKS)


@pytest.mark.parametrize("difference", sorted(CHECKS))
def test_the_documented_difference_still_holds(difference: str) -> None:
    CHECKS[difference]()
