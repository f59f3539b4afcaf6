"""futurist.periodics running for real: synchronous, thread and green executors."""

from __future__ import annotations

import concurrent.futures
import gc
import itertools
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

import futurist
from futurist import periodics
from futurist.periodics import PERIODIC, ExistingExecutor, PeriodicWorker
from tests.periodics_support import CONCURRENT_FLAVORS, FLAVORS, FailureLog, Flavor


class Counter:
    """Counts calls and sets an event once ``target`` calls happened."""

    def __init__(self, flavor: Flavor, target: int) -> None:
        self.calls = 0
        self.target = target
        self.reached = flavor.event_cls()

    def hit(self) -> None:
        self.calls += 1
        if self.calls >= self.target:
            self.reached.set()


def worker_for(flavor: Flavor, callables: list[Any], **kwargs: Any) -> PeriodicWorker:
    return PeriodicWorker(
        callables,
        executor_factory=flavor.executor_factory,
        cond_cls=flavor.cond_cls,
        event_cls=flavor.event_cls,
        **kwargs,
    )


@pytest.mark.parametrize("flavor", FLAVORS)
def test_runs_callbacks_until_stopped(flavor: Flavor) -> None:
    counter = Counter(flavor, 3)
    seen: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

    @periodics.periodic(0.01, run_immediately=True)
    def tick(*args: Any, **kwargs: Any) -> None:
        seen.append((args, kwargs))
        counter.hit()

    worker = worker_for(flavor, [(tick, (1, 2), {"three": 3})])
    join = flavor.spawn(worker.start)
    assert counter.reached.wait(30)
    worker.stop()
    assert worker.wait(30)
    join()
    assert seen[0] == ((1, 2), {"three": 3})
    (watcher,) = worker.iter_watchers()
    assert watcher.runs == watcher.successes == len(seen) >= 3
    assert watcher.failures == 0


@pytest.mark.parametrize("flavor", FLAVORS)
def test_failures_go_to_on_failure_and_the_schedule_continues(flavor: Flavor) -> None:
    counter = Counter(flavor, 2)
    failures = FailureLog()
    failures.then = counter.hit

    @periodics.periodic(0.01)
    def broken() -> None:
        raise KeyError("broken")

    worker = worker_for(flavor, [(broken, (), {})], on_failure=failures)
    join = flavor.spawn(worker.start)
    assert counter.reached.wait(30)
    worker.stop()
    assert worker.wait(30)
    join()
    assert [
        (report.callback, report.kind, report.spacing, report.exc_info[0])
        for report in failures.reports[:2]
    ] == [(broken, PERIODIC, 0.01, KeyError)] * 2


@pytest.mark.parametrize("flavor", FLAVORS)
def test_never_again_with_auto_stop_ends_start_by_itself(flavor: Flavor) -> None:
    calls: list[int] = []

    @periodics.periodic(0.01, run_immediately=True)
    def three_times() -> None:
        calls.append(1)
        if len(calls) == 3:
            raise periodics.NeverAgain()

    worker = worker_for(flavor, [(three_times, (), {})])
    join = flavor.spawn(lambda: worker.start(auto_stop_when_empty=True))
    join()
    assert len(calls) == 3
    (watcher,) = worker.iter_watchers()
    assert watcher.requested_stop


def outcome_of_start(flavor: Flavor, worker: PeriodicWorker) -> BaseException | None:
    """Run ``worker.start()`` as the flavour does; what it raised, or None if it returned."""
    outcome: list[BaseException | None] = []

    def start() -> None:
        try:
            worker.start()
        except BaseException as exc:
            outcome.append(exc)
        else:
            outcome.append(None)

    flavor.spawn(start)()
    assert outcome, "start() did not return"
    return outcome[0]


@pytest.mark.parametrize("flavor", FLAVORS)
@pytest.mark.parametrize("error", [KeyboardInterrupt, SystemExit])
def test_a_callback_raising_keyboard_interrupt_or_system_exit_stops_the_worker(
    flavor: Flavor, error: type[BaseException], caplog: pytest.LogCaptureFixture
) -> None:
    @periodics.periodic(0.01, run_immediately=True)
    def interrupted() -> None:
        raise error("leaving")

    @periodics.periodic(0.01, run_immediately=True)
    def steady() -> None:
        pass

    failures = FailureLog()
    worker = worker_for(flavor, [(interrupted, (), {}), (steady, (), {})], on_failure=failures)
    raised = outcome_of_start(flavor, worker)
    assert type(raised) is error
    assert failures.exceptions == [raised]
    assert worker.wait(0)
    watcher = next(worker.iter_watchers())
    assert (watcher.runs, watcher.failures) == (1, 1)
    # Stopped as by stop(): reset() makes it runnable again.
    assert outcome_of_start(flavor, worker) is None
    worker.reset()
    assert type(outcome_of_start(flavor, worker)) is error
    # start() re-raised it: the submission that ran the callback reports no unread failure.
    gc.collect()
    unread = [r for r in caplog.records if "nobody read its exception" in r.getMessage()]
    assert unread == []


def test_periodic_callbacks_cannot_run_on_a_process_pool() -> None:
    @periodics.periodic(0.01, run_immediately=True)
    def interrupted() -> None:
        raise KeyboardInterrupt

    failures = FailureLog()
    with futurist.ProcessPoolExecutor(max_workers=1) as executor:
        worker = PeriodicWorker(
            [(interrupted, (), {})],
            executor_factory=ExistingExecutor(executor),
            on_failure=failures,
        )
        failures.then = worker.stop
        worker.start()
    # The worker's runner holds its locks: it cannot be sent to another process, so each run
    # fails to be submitted and the callback never runs there.
    assert failures.exceptions
    assert "pickle" in str(failures.exceptions[0])


@pytest.mark.parametrize("flavor", FLAVORS)
def test_add_while_running(flavor: Flavor) -> None:
    counter = Counter(flavor, 2)
    started = flavor.event_cls()

    @periodics.periodic(0.01, run_immediately=True)
    def first() -> None:
        started.set()

    @periodics.periodic(0.01, run_immediately=True)
    def added(value: int) -> None:
        assert value == 7
        counter.hit()

    worker = worker_for(flavor, [(first, (), {})])
    join = flavor.spawn(worker.start)
    assert started.wait(30)
    watcher = worker.add(added, 7)
    assert watcher is not None and watcher.work.args == (7,)
    assert counter.reached.wait(30)
    worker.stop()
    assert worker.wait(30)
    join()
    assert len(worker) == 2


@pytest.mark.parametrize("flavor", FLAVORS)
def test_stop_then_wait_returns_even_before_start_runs(flavor: Flavor) -> None:
    @periodics.periodic(0.01)
    def tick() -> None:
        raise AssertionError("a stopped worker must not run callbacks")

    worker = worker_for(flavor, [(tick, (), {})])
    worker.stop()
    join = flavor.spawn(worker.start)
    assert worker.wait(30)
    join()


@pytest.mark.parametrize("flavor", FLAVORS)
def test_start_twice_is_refused_and_reset_allows_running_again(flavor: Flavor) -> None:
    counter = Counter(flavor, 1)
    errors: list[str] = []

    @periodics.periodic(0.01, run_immediately=True)
    def tick() -> None:
        try:
            worker.start()
        except RuntimeError as exc:
            errors.append(str(exc))
        counter.hit()

    worker = worker_for(flavor, [(tick, (), {})])
    join = flavor.spawn(worker.start)
    assert counter.reached.wait(30)
    worker.stop()
    assert worker.wait(30)
    join()
    assert errors and "already running" in errors[0]
    worker.reset()
    counter.reached.clear()
    counter.target = counter.calls + 1
    join = flavor.spawn(worker.start)
    assert counter.reached.wait(30)
    worker.stop()
    assert worker.wait(30)
    join()


@pytest.mark.parametrize("flavor", CONCURRENT_FLAVORS)
def test_a_slow_callback_does_not_hold_up_the_others(flavor: Flavor) -> None:
    fast_runs = Counter(flavor, 5)
    slow_started = flavor.event_cls()
    slow_runs: list[bool] = []

    @periodics.periodic(0.01, run_immediately=True)
    def slow() -> None:
        slow_started.set()
        # Finishes only once the fast one ran five times meanwhile (or fails after 30 s).
        slow_runs.append(fast_runs.reached.wait(30))

    @periodics.periodic(0.01)
    def fast() -> None:
        fast_runs.hit()

    worker = worker_for(flavor, [(slow, (), {}), (fast, (), {})])
    join = flavor.spawn(worker.start)
    assert slow_started.wait(30)
    assert fast_runs.reached.wait(30)
    worker.stop()
    assert worker.wait(30)
    join()
    assert slow_runs[0] is True


def test_stop_waits_for_runs_in_flight_on_a_thread_pool() -> None:
    running, release = threading.Event(), threading.Event()
    finished: list[bool] = []

    @periodics.periodic(0.01, run_immediately=True)
    def slow() -> None:
        running.set()
        release.wait(30)
        finished.append(True)

    with futurist.ThreadPoolExecutor(max_workers=2) as pool:
        worker = PeriodicWorker([(slow, (), {})], executor_factory=ExistingExecutor(pool))
        thread = threading.Thread(target=worker.start)
        thread.start()
        assert running.wait(30)
        worker.stop()
        assert not worker.wait(0.01)  # the run in flight is not finished yet
        release.set()
        assert worker.wait(30)
        thread.join(30)
        assert finished == [True]
        assert pool.alive  # ExistingExecutor(shutdown=False) leaves the pool to its owner


def test_a_factory_executor_is_shut_down_at_stop_and_an_existing_one_when_asked() -> None:
    pool = futurist.ThreadPoolExecutor(max_workers=1)
    ran = threading.Event()

    @periodics.periodic(0.01, run_immediately=True)
    def tick() -> None:
        ran.set()

    worker = PeriodicWorker(
        [(tick, (), {})], executor_factory=ExistingExecutor(pool, shutdown=True)
    )
    thread = threading.Thread(target=worker.start)
    thread.start()
    assert ran.wait(30)
    worker.stop()
    assert worker.wait(30)
    thread.join(30)
    assert not pool.alive


def test_an_executor_shut_down_by_someone_else_is_reported_and_retried() -> None:
    pool = futurist.ThreadPoolExecutor(max_workers=1)
    pool.shutdown()
    failures = FailureLog()

    @periodics.periodic(0.01, run_immediately=True)
    def tick() -> None:
        raise AssertionError("cannot run on a shut down pool")

    worker = PeriodicWorker(
        [(tick, (), {})],
        executor_factory=ExistingExecutor(pool),
        on_failure=failures,
    )
    thread = threading.Thread(target=worker.start)
    thread.start()
    assert failures.wait_for(2, 30)
    worker.stop()
    assert worker.wait(30)
    thread.join(30)
    assert all(isinstance(error, RuntimeError) for error in failures.exceptions)


def test_a_rejected_submission_is_reported_and_retried() -> None:
    refusals = iter([True, True, False])
    ran = threading.Event()
    failures = FailureLog()

    def refuse_twice(executor: object, backlog: int) -> None:
        if next(refusals, False):
            raise futurist.RejectedSubmission("backlog full")

    @periodics.periodic(0.01, run_immediately=True)
    def tick() -> None:
        ran.set()

    with futurist.ThreadPoolExecutor(max_workers=1, check_and_reject=refuse_twice) as pool:
        worker = PeriodicWorker(
            [(tick, (), {})],
            executor_factory=ExistingExecutor(pool),
            on_failure=failures,
        )
        thread = threading.Thread(target=worker.start)
        thread.start()
        assert ran.wait(30)
        worker.stop()
        assert worker.wait(30)
        thread.join(30)
    assert [str(error) for error in failures.exceptions] == ["backlog full", "backlog full"]
    (watcher,) = worker.iter_watchers()
    assert watcher.failures == 2 and watcher.successes >= 1


def test_a_future_cancelled_by_the_executor_is_reported_and_retried() -> None:
    blocker_running, release = threading.Event(), threading.Event()
    submitted = threading.Event()
    failures = FailureLog()
    submits = iter(range(1000))

    def note_submit(executor: object, backlog: int) -> None:
        if next(submits) == 1:  # the worker's first submission, queued behind the blocker
            submitted.set()

    @periodics.periodic(0.01, run_immediately=True)
    def tick() -> None:
        raise AssertionError("this run is cancelled before it starts")

    pool = futurist.ThreadPoolExecutor(max_workers=1, check_and_reject=note_submit)

    def block() -> None:
        blocker_running.set()
        release.wait(30)

    pool.submit(block)
    assert blocker_running.wait(30)
    worker = PeriodicWorker(
        [(tick, (), {})],
        executor_factory=ExistingExecutor(pool),
        on_failure=failures,
    )
    thread = threading.Thread(target=worker.start)
    thread.start()
    assert submitted.wait(30)
    pool.shutdown(wait=False, cancel_futures=True)
    release.set()
    assert failures.wait_for(2, 30)
    worker.stop()
    assert worker.wait(30)
    thread.join(30)
    assert isinstance(failures.exceptions[0], concurrent.futures.CancelledError)
    assert isinstance(failures.exceptions[1], RuntimeError)  # the retry meets the shut down pool


def test_failures_are_logged_with_their_traceback_without_on_failure(
    caplog: pytest.LogCaptureFixture,
) -> None:
    @periodics.periodic(0.01, run_immediately=True)
    def broken() -> None:
        worker.stop()
        raise OSError("disk on fire")

    worker = PeriodicWorker([(broken, (), {})])
    with caplog.at_level(logging.ERROR):
        worker.start()
    (record,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "broken" in record.getMessage() and "immediate" in record.getMessage()
    assert record.exc_info is not None and isinstance(record.exc_info[1], OSError)


def test_an_on_failure_that_raises_is_logged_and_the_worker_survives(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls: list[int] = []

    @periodics.periodic(0.01, run_immediately=True)
    def broken() -> None:
        calls.append(1)
        if len(calls) == 2:
            worker.stop()
        raise OSError("first failure")

    def on_failure(*args: Any, **kwargs: Any) -> None:
        raise LookupError("reporter broke")

    worker = PeriodicWorker([(broken, (), {})], on_failure=on_failure)
    with caplog.at_level(logging.ERROR):
        worker.start()
    assert len(calls) == 2
    assert caplog.text.count("on_failure raised") == 2


def test_the_default_executor_runs_callbacks_in_the_thread_calling_start() -> None:
    threads: list[threading.Thread] = []

    @periodics.periodic(0.01, run_immediately=True)
    def tick() -> None:
        threads.append(threading.current_thread())
        worker.stop()

    worker = PeriodicWorker([(tick, (), {})])
    worker.start()
    assert threads == [threading.current_thread()]


def test_real_time_smoke_runs_are_never_early_and_roughly_on_time() -> None:
    spacing = 0.02
    starts: dict[str, list[float]] = {"a": [], "b": []}
    done = threading.Event()

    def make(name: str) -> Callable[[], None]:
        @periodics.periodic(spacing)
        def tick() -> None:
            starts[name].append(time.monotonic())
            if all(len(times) >= 5 for times in starts.values()):
                done.set()

        return tick

    with futurist.ThreadPoolExecutor(max_workers=2) as pool:
        worker = PeriodicWorker(
            [(make("a"), (), {}), (make("b"), (), {})], executor_factory=ExistingExecutor(pool)
        )
        began = time.monotonic()
        thread = threading.Thread(target=worker.start)
        thread.start()
        assert done.wait(60)
        worker.stop()
        assert worker.wait(60)
        thread.join(60)
    for times in starts.values():
        assert times[0] >= began + spacing
        gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
        # The worker never starts a run early; the callback's own clock reading lags the
        # worker's by a moment that varies, hence the half-spacing margin.
        assert all(spacing / 2 <= gap < spacing + 5.0 for gap in gaps)
