"""Delayed submission mixed into thread, green and synchronous executors."""

from __future__ import annotations

import gc
import logging
import math
import subprocess
import sys
import textwrap
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

import pytest

from futurist import (
    DelayedExecutorMixin,
    GreenDelayedExecutorMixin,
    GreenThreadPoolExecutor,
    RejectedSubmission,
    SynchronousExecutor,
    ThreadPoolExecutor,
)
from futurist.executors.delayed import DelayedExecutorMixinBase
from futurist.rejection import wait_when_reached
from futurist.waiters import wait_for_all
from tests.executors.kinds import KINDS as CONTRACT_KINDS
from tests.executors.kinds import EventLike
from tests.executors.test_contract import WAIT, identity, wait_then_return

KINDS: dict[str, tuple[type[DelayedExecutorMixinBase], type[Any], dict[str, Any]]] = {
    "thread": (DelayedExecutorMixin, ThreadPoolExecutor, {"max_workers": 1}),
    "green": (GreenDelayedExecutorMixin, GreenThreadPoolExecutor, {"max_workers": 1}),
    "synchronous": (DelayedExecutorMixin, SynchronousExecutor, {}),
    "synchronous_green": (GreenDelayedExecutorMixin, SynchronousExecutor, {"green": True}),
}


class ManualClock:
    """A clock that moves only when a test says so."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def delayed_class(kind: str, clock: Callable[[], float] | None = None) -> type[Any]:
    """The delayed executor class of ``kind``, on ``clock`` if given."""
    mixin, base, _ = KINDS[kind]
    namespace: dict[str, Any] = {}
    if clock is not None:
        namespace["_delay_clock"] = lambda self: clock()
    return type(f"Delayed{base.__name__}", (mixin, base), namespace)


def make(
    kind: str, clock: Callable[[], float] | None = None, cls: type[Any] | None = None, **extra: Any
) -> Any:
    """A delayed executor of ``kind`` (one worker where it has workers), on ``clock`` if given.

    ``cls`` is a subclass of ``delayed_class(kind)`` to build instead.
    """
    return (cls or delayed_class(kind, clock))(**KINDS[kind][2], **extra)


@pytest.fixture(params=sorted(KINDS))
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_items_run_in_deadline_order(kind: str) -> None:
    clock = ManualClock()
    executor = make(kind, clock)
    order: list[str] = []
    futures = [executor.submit_after(d, order.append, n) for d, n in [(30, "c"), (10, "a")]]
    futures.append(executor.submit_after(20, order.append, "b"))
    clock.now = 100.0
    futures.append(executor.submit_after(0, order.append, "now"))
    for future in futures:
        future.result(timeout=10)
    assert order == ["a", "b", "c", "now"]
    executor.shutdown()
    assert executor.statistics.executed == 4


def test_nothing_runs_before_its_deadline(kind: str) -> None:
    clock = ManualClock()
    executor = make(kind, clock)
    later = executor.submit_after(10, pow, 2, 10)
    # The scheduler handed the due probe over, so it has seen `later` and left it waiting.
    assert executor.submit_after(0, pow, 2, 1).result(timeout=10) == 2
    assert not later.done()
    clock.now = 10.0
    executor.submit_after(0, pow, 2, 0).result(timeout=10)
    assert later.result(timeout=10) == 1024
    executor.shutdown()


def test_cancel_while_waiting_counts_as_cancelled_at_once(kind: str) -> None:
    executor = make(kind)
    future = executor.submit_after(1000, pow, 2, 2)
    assert future.cancel()
    assert future.cancelled()
    assert executor.statistics.cancelled == 1
    assert wait_for_all([future], timeout=0).done == {future}
    executor.shutdown(wait=True)
    assert executor.statistics.executed == 0


def test_shutdown_wait_runs_pending_work_at_its_deadline(kind: str) -> None:
    executor = make(kind)
    started = time.monotonic()
    future = executor.submit_after(0.02, time.monotonic)
    executor.shutdown(wait=True)
    assert future.done()
    assert future.result() >= started + 0.02
    assert executor.statistics.executed == 1


def test_shutdown_cancel_futures_cancels_pending_work_at_once(kind: str) -> None:
    executor = make(kind)
    futures = [executor.submit_after(1000 + n, pow, 2, n) for n in range(3)]
    executor.shutdown(wait=True, cancel_futures=True)
    assert all(future.cancelled() for future in futures)
    stats = executor.statistics
    assert (stats.cancelled, stats.executed) == (3, 0)


def test_shutdown_without_wait_still_runs_pending_work(kind: str) -> None:
    executor = make(kind)
    future = executor.submit_after(0.01, pow, 2, 4)
    executor.shutdown(wait=False)
    assert future.result(timeout=10) == 16
    executor.shutdown(wait=True)
    with pytest.raises(RuntimeError, match="shut down"):
        executor.submit_after(0, pow, 2, 2)


def test_failures_of_delayed_work_are_counted(kind: str) -> None:
    executor = make(kind)

    def boom() -> None:
        raise ValueError("late failure")

    future = executor.submit_after(0, boom)
    assert isinstance(future.exception(timeout=10), ValueError)
    executor.shutdown()
    stats = executor.statistics
    assert (stats.failures, stats.executed) == (1, 1)


def test_shutdown_from_inside_delayed_work_does_not_deadlock(kind: str) -> None:
    executor = make(kind)

    def stop_own_executor() -> str:
        executor.shutdown(wait=True)
        return "stopped"

    assert executor.submit_after(0, stop_own_executor).result(timeout=10) == "stopped"
    executor.shutdown(wait=True)
    assert not executor.alive


@pytest.mark.parametrize(
    ("delay", "error", "message"),
    [
        (-0.5, ValueError, "delay must be a finite number of seconds >= 0, got -0.5"),
        (math.nan, ValueError, "got nan"),
        (math.inf, ValueError, "got inf"),
        ("1", TypeError, "delay must be a number of seconds .* got str '1'"),
        (None, TypeError, "got NoneType None"),
        (True, TypeError, "got bool True"),
    ],
)
def test_bad_delays_are_refused(
    kind: str, delay: Any, error: type[Exception], message: str
) -> None:
    executor = make(kind)
    with pytest.raises(error, match=message):
        executor.submit_after(delay, pow, 2, 2)
    executor.shutdown()
    assert executor.statistics.executed == 0


def test_non_callables_and_submissions_after_shutdown_are_refused(kind: str) -> None:
    executor = make(kind)
    with pytest.raises(TypeError, match="needs a callable, got int 3"):
        executor.submit_after(0, 3)
    executor.shutdown()
    with pytest.raises(RuntimeError, match="has been shut down"):
        executor.submit_after(0, pow, 2, 2)


@pytest.mark.parametrize("kind", ["thread", "green"])
def test_check_and_reject_runs_when_delayed_work_is_accepted(kind: str) -> None:
    def refuse(executor: Any, backlog: int) -> None:
        raise RejectedSubmission("full")

    executor = make(kind, check_and_reject=refuse)
    with pytest.raises(RejectedSubmission, match="full"):
        executor.submit_after(0, pow, 2, 2)
    executor.shutdown()
    assert executor.statistics.executed == executor.statistics.cancelled == 0


def test_one_scheduler_thread_serves_every_delayed_item() -> None:
    executor = make("thread", ManualClock())
    futures = [executor.submit_after(100 + n, pow, 2, n) for n in range(5)]
    suffix = f"{id(executor):#x}-delayed"
    schedulers = [thread for thread in threading.enumerate() if thread.name.endswith(suffix)]
    assert len(schedulers) == 1
    executor.shutdown(wait=True, cancel_futures=True)
    schedulers[0].join(timeout=10)
    assert not schedulers[0].is_alive()
    assert all(future.cancelled() for future in futures)


def test_pending_delayed_work_never_holds_the_interpreter_at_exit() -> None:
    code = textwrap.dedent(
        """
        import futurist

        class Delayed(futurist.DelayedExecutorMixin, futurist.ThreadPoolExecutor):
            pass

        executor = Delayed()
        future = executor.submit_after(3600, print, "never")
        print("exiting")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["exiting"]


def test_a_refused_hand_off_fails_its_item_and_the_scheduler_carries_on() -> None:
    def broken_runner(work: Any) -> None:
        raise OSError("cannot run work here")

    executor = make("synchronous", run_work_func=broken_runner)
    first = executor.submit_after(0, pow, 2, 2)
    second = executor.submit_after(0.01, pow, 2, 3)
    for future in (first, second):
        with pytest.raises(OSError, match="cannot run work here"):
            future.result(timeout=10)
    executor.shutdown()
    assert executor.statistics.failures == 2


def recording(kind: str) -> Any:
    """A delayed executor of ``kind`` whose ``submit`` override records each call it sees."""

    class Recording(delayed_class(kind)):  # type: ignore[misc]
        seen: list[Any]

        def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
            self.seen.append((fn, args, kwargs))
            return super().submit(fn, *args, **kwargs)

    executor = make(kind, cls=Recording)
    executor.seen = []
    return executor


def test_delayed_calls_go_through_an_overridden_submit(kind: str) -> None:
    executor = recording(kind)
    future = executor.submit_after(0, pow, 2, exp=5)
    assert future.result(timeout=10) == 32
    executor.shutdown()
    assert executor.seen == [(pow, (2,), {"exp": 5})]
    stats = executor.statistics
    assert (stats.executed, stats.failures, stats.cancelled) == (1, 0, 0)


def test_a_delayed_future_fails_with_what_submit_raised(kind: str) -> None:
    error = OSError("refused at the deadline")

    class Refusing(delayed_class(kind)):  # type: ignore[misc]
        def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
            raise error

    executor = make(kind, cls=Refusing)
    future = executor.submit_after(0, pow, 2, 2)
    assert future.exception(timeout=10) is error
    executor.shutdown()
    stats = executor.statistics
    assert (stats.executed, stats.failures) == (1, 1)


def test_check_and_reject_refusing_at_the_deadline_fails_the_delayed_future(kind: str) -> None:
    verdicts = iter([None, RejectedSubmission("full at the deadline")])

    def accept_then_refuse(executor: Any, backlog: int) -> None:
        verdict = next(verdicts)
        if verdict is not None:
            raise verdict

    executor = make(kind, check_and_reject=accept_then_refuse)
    future = executor.submit_after(0, pow, 2, 2)
    exc = future.exception(timeout=10)
    assert isinstance(exc, RejectedSubmission)
    assert str(exc) == "full at the deadline"
    executor.shutdown()
    assert executor.statistics.failures == 1


def test_a_delayed_future_follows_a_future_an_override_returns(kind: str) -> None:
    elsewhere = SynchronousExecutor()

    class Forwarding(delayed_class(kind)):  # type: ignore[misc]
        def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
            return elsewhere.submit(fn, *args, **kwargs)

    executor = make(kind, cls=Forwarding)
    try:
        assert executor.submit_after(0, pow, 2, 3).result(timeout=10) == 8
        failed = executor.submit_after(0, int, "x")
        assert isinstance(failed.exception(timeout=10), ValueError)
    finally:
        executor.shutdown()
        elsewhere.shutdown()
    stats = executor.statistics
    assert (stats.executed, stats.failures) == (2, 1)


def test_cancelling_a_handed_off_call_still_queued_cancels_it() -> None:
    queued = threading.Event()

    class Signalling(DelayedExecutorMixin, ThreadPoolExecutor):
        def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
            future = super().submit(fn, *args, **kwargs)
            if fn is pow:
                queued.set()
            return future

    executor = Signalling(max_workers=1)
    started, release = threading.Event(), threading.Event()

    def block() -> bool:
        started.set()
        return release.wait(10)

    blocker = executor.submit(block)
    assert started.wait(10)
    delayed = executor.submit_after(0, pow, 2, 2)
    assert queued.wait(10)
    assert not delayed.running()
    assert delayed.cancel()
    release.set()
    executor.shutdown()
    assert blocker.result() is True
    assert delayed.cancelled()
    stats = executor.statistics
    assert (stats.executed, stats.cancelled) == (1, 1)


def test_a_dropped_delayed_result_and_its_arguments_are_freed(kind: str) -> None:
    class Payload:
        pass

    argument, executor = Payload(), make(kind)
    argument_ref = weakref.ref(argument)
    future = executor.submit_after(0, lambda value: (value, Payload()), argument)
    result_ref = weakref.ref(future.result(timeout=10)[1])
    executor.shutdown()
    del argument, future
    gc.collect()
    assert result_ref() is None
    assert argument_ref() is None


class WaitAfterAccepting:
    """Accepts the first ``count`` submissions at once, then acts as ``wait_when_reached(1)``,
    setting ``waiting`` as it starts to wait."""

    waits_for_room = True

    def __init__(self, count: int, waiting: EventLike) -> None:
        self.count = count
        self.waiting = waiting
        self._policy = wait_when_reached(1)

    def __call__(self, executor: Any, backlog: int) -> None:
        self.count -= 1
        if self.count < 0:
            self.waiting.set()
            self._policy(executor, backlog)


@pytest.mark.parametrize("name", ["thread_delayed", "green_delayed"])
def test_a_delayed_call_waiting_for_room_runs_under_a_graceful_shutdown(name: str) -> None:
    contract_kind = next(each for each in CONTRACT_KINDS if each.name == name)
    # A blocker, a queued call and a delayed call are accepted; then the delayed call's
    # hand-off at its deadline finds the backlog full and waits for room.
    policy = WaitAfterAccepting(3, contract_kind.new_event())
    executor: Any = contract_kind.make(max_workers=1, check_and_reject=policy)
    started, release = contract_kind.new_event(), contract_kind.new_event()
    try:
        blocker = executor.submit(wait_then_return, started, release, "blocker")
        assert started.wait(WAIT)
        queued = executor.submit(identity, "queued")
        delayed = executor.submit_after(0, identity, "delayed")
        assert policy.waiting.wait(WAIT)
        shutting_down = contract_kind.spawn(executor.shutdown, True)
        while executor.alive:
            shutting_down.join(0.001)
    finally:
        release.set()
    shutting_down.join(WAIT)
    assert not shutting_down.is_alive()
    assert [blocker.result(0), queued.result(0), delayed.result(0)] == [
        "blocker",
        "queued",
        "delayed",
    ]
    stats = executor.statistics
    assert (stats.executed, stats.failures, stats.cancelled) == (3, 0, 0)


def fail_quietly() -> None:
    raise ValueError("nobody looked")


@pytest.mark.parametrize("read", [False, True], ids=["unread", "read"])
def test_a_failure_of_a_delayed_call_nobody_read_is_reported(
    kind: str, caplog: pytest.LogCaptureFixture, read: bool
) -> None:
    caplog.set_level(logging.ERROR, logger="futurist")
    executor = make(kind)
    future = executor.submit_after(0, fail_quietly)
    # Waiting is not reading; the scheduler's own done callback must not count as a reader.
    assert wait_for_all([future], timeout=10).done == {future}
    if read:
        assert isinstance(future.exception(), ValueError)
    executor.shutdown(wait=True)
    del future
    gc.collect()
    unread = [r for r in caplog.records if "nobody read its exception" in r.getMessage()]
    assert len(unread) == (0 if read else 1)


def test_drain_cancels_delayed_calls_still_waiting_and_reports_them(kind: str) -> None:
    executor = make(kind)
    waiting = executor.submit_after(1000, pow, 2, 2)
    assert executor.submit_after(0, pow, 2, 3).result(timeout=10) == 8
    assert executor.drain(0) == {waiting}
    assert waiting.cancelled()
    assert not executor.alive
    stats = executor.statistics
    assert (stats.executed, stats.cancelled) == (1, 1)


def test_drain_waits_for_delayed_calls_due_within_its_timeout(kind: str) -> None:
    executor = make(kind)
    due_soon = executor.submit_after(0.01, pow, 2, 4)
    assert executor.drain(WAIT) == set()
    assert due_soon.result(0) == 16
    assert not executor.alive
    stats = executor.statistics
    assert (stats.executed, stats.cancelled) == (1, 0)
