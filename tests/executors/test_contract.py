"""The executor contract of DESIGN.md, run once per executor kind listed in ``kinds.KINDS``."""

from __future__ import annotations

import concurrent.futures
import gc
import logging
import re
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import futurist
from futurist import rejection
from futurist.executors.base import Executor
from tests.executors.kinds import EventLike, Kind

WAIT = 30.0
"""Upper bound for any wait in these tests; reaching it means a bug, not a slow machine."""


@pytest.fixture
def executor(kind: Kind) -> Iterator[Executor]:
    built = kind.make(max_workers=2)
    yield built
    built.shutdown(wait=True, cancel_futures=True)


def fail(message: str) -> None:
    raise ValueError(message)


def wait_then_return(started: EventLike, release: EventLike, value: Any) -> Any:
    started.set()
    if not release.wait(WAIT):
        raise AssertionError("the test never released this task")
    return value


def identity(value: Any) -> Any:
    return value


class Payload:
    """A result a test can hold a weak reference to (worker processes can import it)."""

    def __init__(self, value: int) -> None:
        self.value = value


def assert_collected(kind: Kind, reference: weakref.ref[Any], collected: EventLike) -> None:
    """Fail unless the object behind ``reference`` is freed once every holder lets it go.

    A worker may still be returning from the call when the caller has the result, so the
    garbage collector runs again whenever ``collected`` (set by the weak reference's
    callback) is not set yet, until ``WAIT`` runs out.
    """
    deadline = time.monotonic() + WAIT
    gc.collect()
    while not collected.wait(0.05):
        assert time.monotonic() < deadline, f"{kind.name} keeps {reference()!r} alive"
        gc.collect()


def needs_queue(kind: Kind) -> None:
    if kind.in_caller:
        pytest.skip(f"{kind.name} runs calls in the caller: nothing is ever queued")


def block_all_workers(
    kind: Kind, executor: Executor, manager: Any
) -> tuple[EventLike, list[concurrent.futures.Future[Any]]]:
    """Occupy every worker with a call that waits for the returned release event."""
    release = kind.new_event(manager)
    blockers: list[concurrent.futures.Future[Any]] = []
    for number in range(getattr(executor, "max_workers", 1)):
        started = kind.new_event(manager)
        blockers.append(executor.submit(wait_then_return, started, release, number))
        assert started.wait(WAIT)
    return release, blockers


def occupy_all_workers_but_one(
    kind: Kind, executor: Executor, hold: EventLike, manager: Any
) -> list[concurrent.futures.Future[Any]]:
    """Occupy all but one of the ``kind.smallest_pool`` workers with calls waiting for ``hold``."""
    held: list[concurrent.futures.Future[Any]] = []
    for number in range(kind.smallest_pool - 1):
        started = kind.new_event(manager)
        held.append(executor.submit(wait_then_return, started, hold, number))
        assert started.wait(WAIT)
    return held


def test_submit_returns_a_futurist_future_with_the_result(executor: Executor) -> None:
    future = executor.submit(pow, 2, 5)
    assert isinstance(future, futurist.Future)
    assert future.result(WAIT) == 32


def test_submit_passes_positional_and_keyword_arguments(executor: Executor) -> None:
    assert executor.submit(int, "ff", base=16).result(WAIT) == 255


def test_a_non_callable_is_a_type_error_at_submit(executor: Executor) -> None:
    with pytest.raises(TypeError, match="callable"):
        executor.submit(42)  # type: ignore[arg-type]
    assert executor.statistics == futurist.ExecutorStatistics()


def test_a_failing_call_fails_its_future_and_counts_as_a_failure(executor: Executor) -> None:
    future = executor.submit(fail, "boom")
    with pytest.raises(ValueError, match="boom"):
        future.result(WAIT)
    exc, _ = future.exception_info(WAIT)
    assert isinstance(exc, ValueError)
    executor.shutdown(wait=True)
    stats = executor.statistics
    assert (stats.executed, stats.failures, stats.cancelled) == (1, 1, 0)


def test_statistics_count_every_executed_call(executor: Executor) -> None:
    futures = [executor.submit(identity, n) for n in range(20)]
    assert [f.result(WAIT) for f in futures] == list(range(20))
    executor.shutdown(wait=True)
    stats = executor.statistics
    assert isinstance(stats, futurist.ExecutorStatistics)
    assert (stats.executed, stats.failures, stats.cancelled) == (20, 0, 0)
    assert stats.runtime >= 0
    assert stats.average_runtime == stats.runtime / 20


def test_fresh_statistics_have_no_average(executor: Executor) -> None:
    with pytest.raises(ZeroDivisionError):
        _ = executor.statistics.average_runtime


def test_alive_until_shutdown_then_submit_is_refused(executor: Executor) -> None:
    assert executor.alive
    executor.shutdown()
    assert not executor.alive
    # The standard library's words first: logs and tools search for them.
    with pytest.raises(RuntimeError, match=r"^cannot schedule new futures after shutdown: "):
        executor.submit(identity, 1)


def test_shutdown_is_idempotent(executor: Executor) -> None:
    executor.submit(identity, 1).result(WAIT)
    executor.shutdown(wait=False)
    executor.shutdown(wait=True)
    executor.shutdown(wait=True, cancel_futures=True)
    assert not executor.alive


def test_idle_shutdown_returns(kind: Kind) -> None:
    executor = kind.make(max_workers=2)
    executor.submit(identity, 1).result(WAIT)
    executor.shutdown(wait=True)
    assert not executor.alive


def test_context_manager_waits_for_accepted_work(kind: Kind) -> None:
    with kind.make(max_workers=2) as executor:
        futures = [executor.submit(identity, n) for n in range(10)]
    assert all(f.done() for f in futures)
    assert not executor.alive


def test_check_and_reject_sees_the_executor_and_the_backlog(kind: Kind) -> None:
    seen: list[tuple[Executor, int]] = []
    executor = kind.make(max_workers=2, check_and_reject=lambda e, b: seen.append((e, b)))
    with executor:
        executor.submit(identity, 1).result(WAIT)
    assert seen == [(executor, 0)]


def test_a_rejection_reaches_the_caller_and_records_nothing(kind: Kind) -> None:
    def refuse(executor: Executor, backlog: int) -> None:
        raise futurist.RejectedSubmission("no")

    with kind.make(max_workers=2, check_and_reject=refuse) as executor:
        with pytest.raises(futurist.RejectedSubmission):
            executor.submit(identity, 1)
    assert executor.statistics == futurist.ExecutorStatistics()


def test_reject_when_reached_allows_max_backlog_queued_calls(kind: Kind, manager: Any) -> None:
    needs_queue(kind)
    executor = kind.make(max_workers=1, check_and_reject=rejection.reject_when_reached(2))
    try:
        release, blockers = block_all_workers(kind, executor, manager)
        queued = [executor.submit(identity, n) for n in range(2)]
        with pytest.raises(futurist.RejectedSubmission, match="max_backlog is 2"):
            executor.submit(identity, 99)
        release.set()
        assert [f.result(WAIT) for f in queued] == [0, 1]
    finally:
        executor.shutdown(wait=True)
    assert executor.statistics.executed == 2 + len(blockers)


def test_cancel_futures_cancels_every_queued_call(kind: Kind, manager: Any) -> None:
    needs_queue(kind)
    executor = kind.make(max_workers=1)
    release, blockers = block_all_workers(kind, executor, manager)
    queued = [executor.submit(identity, n) for n in range(5)]
    executor.shutdown(wait=False, cancel_futures=True)
    release.set()
    executor.shutdown(wait=True)
    assert blockers[0].result(WAIT) == 0
    assert all(f.cancelled() for f in queued)
    stats = executor.statistics
    assert (stats.executed, stats.cancelled) == (len(blockers), 5)


def test_shutdown_without_cancel_runs_every_queued_call(kind: Kind, manager: Any) -> None:
    needs_queue(kind)
    executor = kind.make(max_workers=1)
    release, blockers = block_all_workers(kind, executor, manager)
    queued = [executor.submit(identity, n) for n in range(5)]
    executor.shutdown(wait=False)
    release.set()
    assert [f.result(WAIT) for f in queued] == list(range(5))
    executor.shutdown(wait=True)
    assert executor.statistics.executed == 5 + len(blockers)


def test_shutdown_wait_returns_after_every_accepted_call(kind: Kind, manager: Any) -> None:
    needs_queue(kind)
    executor = kind.make(max_workers=1)
    release, blockers = block_all_workers(kind, executor, manager)
    queued = [executor.submit(identity, n) for n in range(3)]
    shutting_down = kind.spawn(executor.shutdown, True)
    release.set()
    shutting_down.join(WAIT)
    assert not shutting_down.is_alive()
    assert all(f.done() for f in [*blockers, *queued])


def test_a_cancelled_queued_call_never_runs_and_counts_as_cancelled(
    kind: Kind, manager: Any
) -> None:
    needs_queue(kind)
    executor = kind.make(max_workers=1)
    release, blockers = block_all_workers(kind, executor, manager)
    victim = executor.submit(identity, "never")
    assert victim.cancel()
    survivor = executor.submit(identity, "ran")
    release.set()
    assert survivor.result(WAIT) == "ran"
    executor.shutdown(wait=True)
    stats = executor.statistics
    assert (stats.executed, stats.cancelled) == (1 + len(blockers), 1)


def test_submit_from_a_task_during_shutdown_wait_raises(kind: Kind) -> None:
    if kind.crosses_processes:
        pytest.skip(f"{kind.name} runs calls in other processes, which cannot reach it")
    executor = kind.make(max_workers=2)
    shutdown_started = kind.new_event()
    outcome: list[BaseException] = []

    def submit_once_shutdown_started() -> None:
        assert shutdown_started.wait(WAIT)
        try:
            executor.submit(identity, 1)
        except BaseException as exc:
            outcome.append(exc)

    runner = kind.spawn(executor.submit, submit_once_shutdown_started)
    stopper = kind.spawn(executor.shutdown, True)
    while executor.alive:
        stopper.join(0.001)
    shutdown_started.set()
    stopper.join(WAIT)
    runner.join(WAIT)
    assert not stopper.is_alive()
    assert len(outcome) == 1
    assert isinstance(outcome[0], RuntimeError)


def test_every_future_reaches_one_terminal_state_once(kind: Kind, manager: Any) -> None:
    executor = kind.make(max_workers=2)
    calls: dict[int, int] = {}
    lock = threading.Lock()

    def count(future: concurrent.futures.Future[Any]) -> None:
        with lock:
            calls[id(future)] = calls.get(id(future), 0) + 1

    futures = []
    for n in range(30):
        future = executor.submit(fail, "x") if n % 3 == 0 else executor.submit(identity, n)
        future.add_done_callback(count)
        futures.append(future)
    executor.shutdown(wait=True)
    assert all(f.done() for f in futures)
    assert sorted(calls.values()) == [1] * 30
    stats = executor.statistics
    assert stats.executed + stats.cancelled == 30
    assert stats.failures == 10


def test_a_raising_done_callback_is_logged_and_others_still_run(
    kind: Kind, executor: Executor, caplog: pytest.LogCaptureFixture
) -> None:
    ran = kind.new_event()

    def bad(future: concurrent.futures.Future[Any]) -> None:
        raise RuntimeError("callback failed")

    future = executor.submit(identity, 1)
    future.add_done_callback(bad)
    future.add_done_callback(lambda f: ran.set())
    with caplog.at_level(logging.ERROR):
        assert ran.wait(WAIT)
        assert executor.submit(identity, 2).result(WAIT) == 2
    failures = [r for r in caplog.records if r.exc_info and r.exc_info[0] is RuntimeError]
    assert len(failures) == 1
    assert failures[0].levelno == logging.ERROR
    assert str(failures[0].exc_info[1]) == "callback failed"  # type: ignore[index]


def test_standard_wait_and_as_completed_work_on_its_futures(kind: Kind, executor: Executor) -> None:
    if kind.green and not kind.in_caller:
        pytest.skip("the standard library's wait blocks the eventlet hub: use futurist.waiters")
    futures = [executor.submit(identity, n) for n in range(5)]
    done, not_done = concurrent.futures.wait(futures, timeout=WAIT)
    assert (len(done), len(not_done)) == (5, 0)
    assert sorted(f.result() for f in concurrent.futures.as_completed(futures, WAIT)) == [
        0,
        1,
        2,
        3,
        4,
    ]


def test_waiters_on_its_futures(executor: Executor) -> None:
    futures = [executor.submit(identity, n) for n in range(5)]
    done, not_done = futurist.waiters.wait_for_all([*futures, futures[0]], WAIT)
    assert (done, not_done) == (set(futures), set())
    done, _ = futurist.waiters.wait_for_any(futures, WAIT)
    assert done


def test_map_yields_results_in_order(executor: Executor) -> None:
    assert list(executor.map(pow, [2, 3, 4], [2, 2, 2])) == [4, 9, 16]
    assert list(executor.map(identity, range(50), chunksize=7)) == list(range(50))


def test_map_with_buffersize_reads_the_input_lazily(executor: Executor) -> None:
    consumed: list[int] = []

    def numbers() -> Iterator[int]:
        for n in range(100):
            consumed.append(n)
            yield n

    results = executor.map(identity, numbers(), buffersize=3)
    assert len(consumed) == 3
    assert next(results) == 0
    assert len(consumed) == 4
    assert list(results) == list(range(1, 100))


def test_map_raises_a_failure_at_its_position(executor: Executor) -> None:
    results = executor.map(identity, [1, 2])
    assert next(results) == 1
    failing = executor.map(fail, ["first"])
    with pytest.raises(ValueError, match="first"):
        next(failing)


@pytest.mark.parametrize(
    ("arguments", "error", "match"),
    [
        ({"buffersize": 0}, ValueError, "^buffersize must be None or > 0"),
        ({"buffersize": 1.5}, TypeError, "^buffersize must be an integer or None"),
        ({"chunksize": 0}, ValueError, "^chunksize must be >= 1"),
    ],
)
def test_map_rejects_bad_arguments(
    executor: Executor, arguments: dict[str, Any], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        executor.map(identity, [1], **arguments)


def test_map_timeout_cancels_the_rest(kind: Kind, manager: Any) -> None:
    needs_queue(kind)
    executor = kind.make(max_workers=1)
    release, blockers = block_all_workers(kind, executor, manager)
    try:
        results = executor.map(identity, [1, 2, 3], timeout=0)
        with pytest.raises(TimeoutError):
            next(results)
    finally:
        release.set()
        executor.shutdown(wait=True)
    stats = executor.statistics
    assert (stats.executed, stats.cancelled) == (len(blockers), 3)


# Flow control (issue 16): priorities, waiting for room, bounded drain, stopping calls.


def test_prioritized_submit_keeps_the_calls_own_priority_keyword(executor: Executor) -> None:
    future: concurrent.futures.Future[dict[str, int]] = executor.prioritized(3).submit(
        dict, priority=7
    )
    assert future.result(WAIT) == {"priority": 7}
    assert executor.statistics.executed == 1


def test_queued_calls_start_highest_priority_first(kind: Kind, manager: Any) -> None:
    needs_queue(kind)
    if not kind.priorities:
        pytest.skip(f"{kind.name} accepts priorities and ignores them (documented)")
    executor = kind.make(max_workers=kind.smallest_pool)
    hold, release = kind.new_event(manager), kind.new_event(manager)
    try:
        occupy_all_workers_but_one(kind, executor, hold, manager)
        started = kind.new_event(manager)
        executor.submit(wait_then_return, started, release, "last worker")
        assert started.wait(WAIT)
        order: list[str] = []
        futures = []
        for label, priority in [
            ("plain", None),
            ("one", 1),
            ("five", 5),
            ("three", 3),
            ("five again", 5),
            ("minus two", -2),
            ("plain again", None),
        ]:
            submitter = executor if priority is None else executor.prioritized(priority)
            future: concurrent.futures.Future[Any] = submitter.submit(identity, label)
            future.add_done_callback(lambda done: order.append(done.result()))
            futures.append(future)
        release.set()
        for future in futures:
            future.result(WAIT)
        assert order == ["five", "five again", "three", "one", "plain", "plain again", "minus two"]
    finally:
        hold.set()
        release.set()
        executor.shutdown(wait=True)


def test_drain_returns_no_future_when_every_call_finishes(kind: Kind) -> None:
    executor = kind.make(max_workers=2)
    futures = [executor.submit(identity, n) for n in range(5)]
    assert executor.drain(WAIT) == set()
    assert [f.result(0) for f in futures] == list(range(5))
    assert not executor.alive


def test_drain_past_its_deadline_cancels_queued_calls_and_reports_them(
    kind: Kind, manager: Any
) -> None:
    needs_queue(kind)
    executor = kind.make(max_workers=1)
    release, blockers = block_all_workers(kind, executor, manager)
    queued = [executor.submit(identity, n) for n in range(3)]
    try:
        unfinished = executor.drain(0)
        assert unfinished == {*queued, *blockers}
        assert all(f.cancelled() for f in queued)
        if kind.stops_calls:
            assert all(isinstance(f.exception(WAIT), futurist.CallStopped) for f in blockers)
    finally:
        release.set()
    if not kind.stops_calls:
        assert blockers[0].result(WAIT) == 0
    executor.shutdown(wait=True)
    assert executor.statistics.cancelled == 3


def from_a_done_callback_on_its_machinery(
    kind: Kind, executor: Executor, manager: Any, act: Callable[[], Any], queue: int
) -> tuple[Any, list[concurrent.futures.Future[Any]], list[concurrent.futures.Future[Any]]]:
    """Run ``act()`` in a done callback on ``executor``'s own machinery, with every worker busy
    and ``queue`` calls queued; return what it returned or raised, the calls that kept the
    other workers busy meanwhile, and the queued calls."""
    hold, started, release = (kind.new_event(manager) for _ in range(3))
    outcome: list[Any] = []
    answered = kind.new_event()

    def act_here(done: concurrent.futures.Future[Any]) -> None:
        try:
            outcome.append(act())
        except BaseException as exc:
            outcome.append(exc)
        answered.set()

    try:
        held = occupy_all_workers_but_one(kind, executor, hold, manager)
        last = executor.submit(wait_then_return, started, release, "last")
        assert started.wait(WAIT)
        queued: list[concurrent.futures.Future[Any]] = [
            executor.submit(identity, n) for n in range(queue)
        ]
        last.add_done_callback(act_here)
        release.set()
        assert answered.wait(WAIT)
    finally:
        hold.set()
    (answer,) = outcome
    return answer, held, queued


@pytest.mark.parametrize("timeout", [WAIT, 0])
def test_drain_from_a_done_callback_on_its_own_machinery_is_refused_or_does_not_wait(
    kind: Kind, manager: Any, timeout: float
) -> None:
    needs_queue(kind)
    executor = kind.make(max_workers=kind.smallest_pool)
    answer, held, queued = from_a_done_callback_on_its_machinery(
        kind, executor, manager, lambda: executor.drain(timeout), queue=3
    )
    executor.shutdown(wait=True)
    stats = executor.statistics
    if timeout:
        # Waiting there would hold up the very machinery that runs the queued calls.
        assert isinstance(answer, RuntimeError)
        assert str(answer).startswith(f"cannot drain {type(executor).__name__} with a timeout")
        assert [f.result(WAIT) for f in queued] == [0, 1, 2]
        assert (stats.executed, stats.cancelled) == (1 + len(held) + 3, 0)
    else:
        assert answer == {*queued, *held}
        assert all(f.cancelled() for f in queued)
        assert (stats.executed, stats.cancelled) == (1 + len(held), 3)


PRIORITY_MIX = [None, 5, -1, 3, None, 5]
"""Priorities of queued calls (None: a plain submit): every level, plain calls among them."""


def submit_priority_mix(executor: Executor) -> list[concurrent.futures.Future[Any]]:
    futures: list[concurrent.futures.Future[Any]] = []
    for number, priority in enumerate(PRIORITY_MIX):
        submitter = executor if priority is None else executor.prioritized(priority)
        futures.append(submitter.submit(identity, number))
    return futures


def test_cancel_futures_cancels_queued_prioritized_calls_too(kind: Kind, manager: Any) -> None:
    needs_queue(kind)
    executor = kind.make(max_workers=1)
    release, blockers = block_all_workers(kind, executor, manager)
    queued = submit_priority_mix(executor)
    executor.shutdown(wait=False, cancel_futures=True)
    release.set()
    executor.shutdown(wait=True)
    assert [f.cancelled() for f in queued] == [True] * len(PRIORITY_MIX)
    stats = executor.statistics
    assert (stats.executed, stats.cancelled) == (len(blockers), len(PRIORITY_MIX))


def test_drain_past_its_deadline_cancels_queued_prioritized_calls_too(
    kind: Kind, manager: Any
) -> None:
    needs_queue(kind)
    executor = kind.make(max_workers=1)
    release, blockers = block_all_workers(kind, executor, manager)
    queued = submit_priority_mix(executor)
    try:
        assert executor.drain(0) == {*queued, *blockers}
        assert [f.cancelled() for f in queued] == [True] * len(PRIORITY_MIX)
    finally:
        release.set()
    executor.shutdown(wait=True)
    stats = executor.statistics
    assert (stats.executed, stats.cancelled) == (len(blockers), len(PRIORITY_MIX))


def test_stop_cancels_queued_prioritized_calls_and_the_others_run(kind: Kind, manager: Any) -> None:
    needs_queue(kind)
    executor = kind.make(max_workers=1)
    release, blockers = block_all_workers(kind, executor, manager)
    queued = submit_priority_mix(executor)
    stopped = [queued[1], queued[2], queued[4]]
    try:
        for future in stopped:
            executor.stop(future)
        assert all(future.cancelled() for future in stopped)
    finally:
        release.set()
    assert [queued[n].result(WAIT) for n in (0, 3, 5)] == [0, 3, 5]
    executor.shutdown(wait=True)
    stats = executor.statistics
    assert (stats.executed, stats.cancelled) == (len(blockers) + 3, 3)


def test_stop_refuses_a_finished_foreign_or_non_future(executor: Executor) -> None:
    finished = executor.submit(identity, 1)
    finished.result(WAIT)
    with pytest.raises(ValueError, match="already done"):
        executor.stop(finished)
    running: futurist.Future[Any] = futurist.Future()
    assert running.set_running_or_notify_cancel()
    pending: list[concurrent.futures.Future[Any]] = [concurrent.futures.Future(), futurist.Future()]
    for foreign in [running, *pending]:
        named = re.escape(repr(foreign))
        with pytest.raises(ValueError, match=f"^cannot stop {named}: .* did not accept it"):
            executor.stop(foreign)
    assert running.running()
    assert not any(future.done() for future in pending)
    with pytest.raises(TypeError, match="needs a future"):
        executor.stop("not a future")  # type: ignore[arg-type]


def test_stop_refuses_another_executors_queued_call_and_changes_nothing(kind: Kind) -> None:
    executor = kind.make(max_workers=1)
    other = futurist.ThreadPoolExecutor(max_workers=1)
    started, release = threading.Event(), threading.Event()
    try:
        other.submit(wait_then_return, started, release, "busy")
        assert started.wait(WAIT)
        queued_elsewhere = other.submit(identity, "elsewhere")
        with pytest.raises(ValueError, match="did not accept it"):
            executor.stop(queued_elsewhere)
        assert not queued_elsewhere.done()
    finally:
        release.set()
        other.shutdown(wait=True)
        executor.shutdown(wait=True)
    assert queued_elsewhere.result(0) == "elsewhere"


def test_stop_cancels_a_queued_call_on_every_kind(kind: Kind, manager: Any) -> None:
    needs_queue(kind)
    executor = kind.make(max_workers=1)
    release, blockers = block_all_workers(kind, executor, manager)
    queued = executor.submit(identity, "never")
    survivor = executor.submit(identity, "ran")
    try:
        executor.stop(queued)
        assert queued.cancelled()
    finally:
        release.set()
    assert survivor.result(WAIT) == "ran"
    executor.shutdown(wait=True)
    stats = executor.statistics
    assert (stats.executed, stats.cancelled) == (len(blockers) + 1, 1)


RACED_CALLS = 200


@pytest.mark.usefixtures("short_switch_interval")
@pytest.mark.parametrize("ending", ["shutdown", "drain"])
def test_stop_racing_a_cancelling_shutdown_returns_and_each_future_ends_once(
    kind: Kind, manager: Any, ending: str
) -> None:
    needs_queue(kind)
    executor = kind.make(max_workers=1)
    release, blockers = block_all_workers(kind, executor, manager)
    cancelling, stopped = kind.new_event(), kind.new_event()
    ends: list[concurrent.futures.Future[Any]] = []

    def count_end(future: concurrent.futures.Future[Any]) -> None:
        ends.append(future)
        if len(ends) == 1:
            # The first call to end is the first the shutdown (or drain) cancels, once it has
            # taken every queued call: hold it there while the test stops the others.
            cancelling.set()
            stopped.wait(WAIT)

    queued = [executor.submit(identity, n) for n in range(RACED_CALLS)]
    for future in queued:
        future.add_done_callback(count_end)
    returned: list[concurrent.futures.Future[Any]] = []
    already_done: list[concurrent.futures.Future[Any]] = []
    errors: list[BaseException] = []

    def end() -> None:
        if ending == "shutdown":
            executor.shutdown(wait=False, cancel_futures=True)
        else:
            executor.drain(0)

    ender = kind.spawn(end)
    try:
        assert cancelling.wait(WAIT)
        for future in reversed(queued):
            try:
                executor.stop(future)
            except ValueError as exc:
                if "already done" not in str(exc):
                    errors.append(exc)
                already_done.append(future)
            except BaseException as exc:
                errors.append(exc)
            else:
                returned.append(future)
        stopped.set()
        ender.join(WAIT)
        assert not ender.is_alive()
    finally:
        stopped.set()
        release.set()
    executor.shutdown(wait=True)
    for blocker in blockers:
        blocker.exception(WAIT)
    assert errors == []
    assert len(returned) + len(already_done) == RACED_CALLS
    assert all(future.cancelled() for future in queued)
    assert sorted(map(id, ends)) == sorted(map(id, queued))
    stats = executor.statistics
    assert (stats.executed, stats.cancelled) == (len(blockers), RACED_CALLS)


def test_stop_stops_a_running_call_or_says_the_kind_cannot(kind: Kind, manager: Any) -> None:
    needs_queue(kind)
    executor = kind.make(max_workers=1)
    release, blockers = block_all_workers(kind, executor, manager)
    queued = executor.submit(identity, "queued")
    try:
        if kind.stops_calls:
            executor.stop(queued)
            assert queued.cancelled()
            executor.stop(blockers[0])
            assert isinstance(blockers[0].exception(WAIT), futurist.CallStopped)
        else:
            with pytest.raises(futurist.StopNotSupported, match="cannot stop a call") as refused:
                executor.stop(blockers[0])
            assert refused.value.kind == type(executor).__name__
    finally:
        release.set()
    if not kind.stops_calls:
        assert (blockers[0].result(WAIT), queued.result(WAIT)) == (0, "queued")
    executor.shutdown(wait=True)


@pytest.mark.parametrize("method", ["terminate_workers", "kill_workers"])
def test_terminate_and_kill_workers_stop_everything_or_change_nothing(
    kind: Kind, manager: Any, method: str
) -> None:
    executor = kind.make(max_workers=1)
    if not kind.stops_calls:
        with pytest.raises(futurist.StopNotSupported, match=method):
            getattr(executor, method)()
        assert executor.alive
        assert executor.submit(identity, 1).result(WAIT) == 1
        executor.shutdown(wait=True)
        return
    release, blockers = block_all_workers(kind, executor, manager)
    queued = executor.submit(identity, "queued")
    try:
        getattr(executor, method)()
        assert not executor.alive
        assert queued.cancelled()
        assert isinstance(blockers[0].exception(WAIT), futurist.CallStopped)
    finally:
        release.set()
    executor.shutdown(wait=True)


def test_wait_when_reached_makes_a_submission_wait_for_room(kind: Kind, manager: Any) -> None:
    needs_queue(kind)
    policy = rejection.wait_when_reached(1, timeout=WAIT)
    executor = kind.make(max_workers=1, check_and_reject=policy)
    release, blockers = block_all_workers(kind, executor, manager)
    queued = executor.submit(identity, "queued")
    submitted: list[tuple[bool, concurrent.futures.Future[Any]]] = []

    def submit_when_there_is_room() -> None:
        future = executor.submit(identity, "waited")
        submitted.append((release.is_set(), future))

    try:
        submitter = kind.spawn(submit_when_there_is_room)
        release.set()
        submitter.join(WAIT)
        assert len(submitted) == 1
        released_first, future = submitted[0]
        assert released_first
        assert (queued.result(WAIT), future.result(WAIT)) == ("queued", "waited")
    finally:
        release.set()
        executor.shutdown(wait=True)
    assert executor.statistics.executed == 2 + len(blockers)


def test_wait_when_reached_gives_up_after_its_timeout(kind: Kind, manager: Any) -> None:
    needs_queue(kind)
    executor = kind.make(max_workers=1, check_and_reject=rejection.wait_when_reached(1, 0))
    release, blockers = block_all_workers(kind, executor, manager)
    try:
        queued = executor.submit(identity, "queued")
        with pytest.raises(futurist.RejectedSubmission, match="backlog timeout"):
            executor.submit(identity, "refused")
    finally:
        release.set()
    assert queued.result(WAIT) == "queued"
    executor.shutdown(wait=True)
    assert executor.statistics.executed == 1 + len(blockers)


def test_shutdown_wakes_a_submitter_waiting_for_room(kind: Kind, manager: Any) -> None:
    needs_queue(kind)
    executor = kind.make(max_workers=1, check_and_reject=rejection.wait_when_reached(1))
    release, _ = block_all_workers(kind, executor, manager)
    executor.submit(identity, "queued")
    outcome: list[BaseException] = []

    def submit() -> None:
        try:
            executor.submit(identity, "never")
        except BaseException as exc:
            outcome.append(exc)

    try:
        submitter = kind.spawn(submit)
        executor.shutdown(wait=False)
        submitter.join(WAIT)
        assert not submitter.is_alive()
        assert len(outcome) == 1
        assert isinstance(outcome[0], RuntimeError)
    finally:
        release.set()
    executor.shutdown(wait=True)


def test_a_worker_submitting_to_its_full_executor_is_refused_at_once(kind: Kind) -> None:
    if kind.in_caller or kind.crosses_processes:
        pytest.skip(f"{kind.name}'s calls never run in a worker that could wait for itself")
    policy = rejection.wait_when_reached(1)
    executor = kind.make(max_workers=kind.smallest_pool, check_and_reject=policy)
    hold = kind.new_event()

    def submit_two() -> str:
        executor.submit(identity, "queued")
        with pytest.raises(futurist.RejectedSubmission, match="its own workers"):
            executor.submit(identity, "refused")
        return "refused at once"

    try:
        for number in range(kind.smallest_pool - 1):
            started = kind.new_event()
            executor.submit(wait_then_return, started, hold, number)
            assert started.wait(WAIT)
        assert executor.submit(submit_two).result(WAIT) == "refused at once"
    finally:
        hold.set()
        executor.shutdown(wait=True)


def test_a_done_callback_submitting_to_its_full_executor_is_refused_at_once(
    kind: Kind, manager: Any
) -> None:
    needs_queue(kind)
    policy = rejection.wait_when_reached(1, timeout=WAIT)
    executor = kind.make(max_workers=kind.smallest_pool, check_and_reject=policy)
    try:
        refusal, _, queued = from_a_done_callback_on_its_machinery(
            kind, executor, manager, lambda: executor.submit(identity, "refused"), queue=1
        )
        assert queued[0].result(WAIT) == 0
    finally:
        executor.shutdown(wait=True)
    assert isinstance(refusal, futurist.RejectedSubmission)
    assert "its own workers" in str(refusal)


def test_a_result_dropped_by_the_caller_is_freed(kind: Kind, executor: Executor) -> None:
    collected = kind.new_event()
    future = executor.submit(Payload, 1)
    result = future.result(WAIT)
    reference = weakref.ref(result, lambda _: collected.set())
    del future, result
    assert_collected(kind, reference, collected)


@pytest.mark.parametrize(("buffersize", "chunksize"), [(None, 1), (2, 1), (None, 2)])
def test_a_result_map_yielded_is_freed_once_the_caller_drops_it(
    kind: Kind, executor: Executor, buffersize: int | None, chunksize: int
) -> None:
    collected = kind.new_event()
    results = executor.map(Payload, range(4), buffersize=buffersize, chunksize=chunksize)
    first = next(results)
    reference = weakref.ref(first, lambda _: collected.set())
    del first
    assert_collected(kind, reference, collected)
    assert [payload.value for payload in results] == [1, 2, 3]


@pytest.mark.parametrize("chunksize", [1, 2])
def test_closing_map_cancels_the_calls_not_yet_started(
    kind: Kind, manager: Any, chunksize: int
) -> None:
    needs_queue(kind)
    executor = kind.make(max_workers=kind.smallest_pool)
    hold, done, release = (kind.new_event(manager) for _ in range(3))
    done.set()
    starts = [kind.new_event(manager) for _ in range(6)]
    releases = [done, done, release, release, release, release]
    try:
        occupy_all_workers_but_one(kind, executor, hold, manager)
        results = executor.map(wait_then_return, starts, releases, range(6), chunksize=chunksize)
        assert next(results) == 0
        # The only free worker runs call 2 (in the second batch, if calls go in batches).
        assert starts[2].wait(WAIT)
        results.close()  # type: ignore[attr-defined]
    finally:
        hold.set()
        release.set()
        executor.shutdown(wait=True)
    calls_per_future = chunksize if kind.batches_map else 1
    assert executor.statistics.cancelled == (4 - calls_per_future) // calls_per_future
