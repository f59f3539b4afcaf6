"""No future left behind: each internal step of futurist fails, on every kind that has the step.

For each fault, every accepted future ends exactly once within a bounded wait, a submission
either raises (and its call never runs) or returns a future that ends, ``shutdown(wait=True)``
returns, the statistics add up, and nothing outlives ``shutdown()``. The process and Dask kinds
have their own fault tests.
"""

from __future__ import annotations

import contextlib
import logging
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from concurrent.futures.thread import BrokenThreadPool
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

import futurist
from futurist.executors import thread
from futurist.executors.base import Executor
from tests.executors.kinds import KINDS, EventLike, Kind
from tests.faults import (
    WAIT,
    Fault,
    ObservedLock,
    Resources,
    Submissions,
    assert_all_terminal,
    assert_nothing_outlives,
    failing,
    failing_initializer,
    green_spawn_fails,
    raising_done_callback,
    rejecting_with,
    run_count_fails,
    shutdown_within,
    start_count_fails,
    statistics_update_fails,
    thread_start_fails,
)

ROOT = Path(__file__).resolve().parent.parent

IN_PROCESS = [kind for kind in KINDS if not kind.crosses_processes]
QUEUEING = [kind for kind in IN_PROCESS if not kind.in_caller]
STARTS_WORKERS = [
    kind
    for kind in IN_PROCESS
    if kind.name in {"thread", "thread_dynamic", "thread_delayed", "green", "green_delayed"}
]
THREAD_POOLS = [kind for kind in STARTS_WORKERS if not kind.green]
DELAYED = [kind for kind in IN_PROCESS if kind.name.endswith("_delayed")]


def kinds(selected: list[Kind]) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("kind", selected, ids=lambda kind: kind.name)


def wait_then_return(started: EventLike, release: EventLike) -> str:
    started.set()
    if not release.wait(WAIT):
        raise AssertionError("the test never released this call")
    return "released"


def occupy_every_worker(kind: Kind, executor: Executor) -> tuple[EventLike, list[Any]]:
    """Keep every worker busy until the returned event is set."""
    release = kind.new_event()
    blockers = []
    for _ in range(getattr(executor, "max_workers", 1)):
        started = kind.new_event()
        blockers.append(executor.submit(wait_then_return, started, release))
        assert started.wait(WAIT)
    return release, blockers


def finish(kind: Kind, executor: Executor, before: Resources, accepted: int, lost: int = 0) -> None:
    """Shut down within a bound; statistics count every accepted call (but ``lost`` ones)."""
    shutdown_within(executor, kind.green)
    stats = executor.statistics
    assert stats.executed + stats.cancelled == accepted - lost
    assert_nothing_outlives(before)


def worker_start_fails(kind: Kind) -> contextlib.AbstractContextManager[Fault]:
    return green_spawn_fails() if kind.green else thread_start_fails()


@kinds(STARTS_WORKERS)
def test_a_worker_that_cannot_start_costs_only_the_submit_that_needed_it(
    kind: Kind, before: Resources
) -> None:
    executor = kind.make(max_workers=2)
    submissions = Submissions()
    with worker_start_fails(kind) as fault:
        submissions.submit(executor.submit)  # no worker exists yet to run it
    assert fault.fired == 1
    assert [type(exc) for exc in submissions.raised.values()] == [RuntimeError]
    release, blockers = occupy_every_worker(kind, executor)
    with worker_start_fails(kind):
        for _ in range(3):
            submissions.submit(executor.submit)
    release.set()
    for _ in range(3):
        submissions.submit(executor.submit)
    accepted = submissions.check()
    assert_all_terminal(blockers)
    finish(kind, executor, before, len(accepted) + len(blockers))


@kinds(DELAYED)
def test_a_delay_scheduler_that_cannot_start_costs_only_its_submit_after(
    kind: Kind, before: Resources
) -> None:
    executor = kind.make(max_workers=1)
    submissions = Submissions()
    fault: contextlib.AbstractContextManager[Fault]
    if kind.green:
        import eventlet

        fault = failing(eventlet, "spawn_n", lambda: RuntimeError("can't spawn a green thread"))
    else:
        fault = thread_start_fails()
    with fault:
        submissions.submit(executor.submit_after, 0.0)  # type: ignore[attr-defined]
    assert list(submissions.raised) == [0]
    for _ in range(3):
        submissions.submit(executor.submit_after, 0.0)  # type: ignore[attr-defined]
    accepted = submissions.check()
    finish(kind, executor, before, len(accepted))


@kinds(IN_PROCESS)
def test_a_raising_done_callback_is_logged_and_every_future_still_ends_once(
    kind: Kind, before: Resources, caplog: pytest.LogCaptureFixture
) -> None:
    executor = kind.make(max_workers=2)
    submissions = Submissions()
    with caplog.at_level(logging.ERROR):
        for _ in range(10):
            submissions.submit(executor.submit)
            submissions.accepted[max(submissions.accepted)].add_done_callback(raising_done_callback)
        accepted = submissions.check()
    assert "done callback failed" in caplog.text
    assert len(accepted) == 10
    finish(kind, executor, before, len(accepted))


@kinds(IN_PROCESS)
@pytest.mark.parametrize("count", ["start", "run"])
def test_a_failing_start_or_run_count_is_logged_and_loses_the_count_not_the_call(
    kind: Kind, before: Resources, caplog: pytest.LogCaptureFixture, count: str
) -> None:
    executor = kind.make(max_workers=1)
    submissions = Submissions()
    fails = start_count_fails(executor) if count == "start" else run_count_fails(executor)
    with fails as fault:
        for _ in range(5):
            submissions.submit(executor.submit)
        submissions.check()
    assert fault.fired == 1
    # The worker that met the fault is still serving.
    for _ in range(5):
        submissions.submit(executor.submit)
    accepted = submissions.check()
    assert len(accepted) == 10
    assert sorted(submissions.ran) == list(range(10))
    assert f"could not count the {count}" in caplog.text
    # A start that was not counted still has its run counted as executed.
    finish(kind, executor, before, len(accepted), lost=1 if count == "run" else 0)


@kinds(QUEUEING)
def test_a_failing_cancel_count_still_cancels_every_queued_call(
    kind: Kind, before: Resources, caplog: pytest.LogCaptureFixture
) -> None:
    executor = kind.make(max_workers=1)
    release, blockers = occupy_every_worker(kind, executor)
    submissions = Submissions()
    for _ in range(4):
        submissions.submit(executor.submit)
    with statistics_update_fails("record_cancelled") as fault:
        executor.shutdown(wait=False, cancel_futures=True)
    assert fault.fired == 1
    release.set()
    accepted = submissions.check()
    assert all(future.cancelled() for future in accepted)
    assert_all_terminal(blockers)
    assert "could not count" in caplog.text
    finish(kind, executor, before, len(accepted) + len(blockers), lost=1)


@kinds(IN_PROCESS)
def test_check_and_reject_raising_another_error_refuses_that_submit_and_records_nothing(
    kind: Kind, before: Resources
) -> None:
    check = rejecting_with(lambda: ValueError("the policy itself failed"))
    executor = kind.make(max_workers=2, check_and_reject=check)
    submissions = Submissions()
    for _ in range(4):
        submissions.submit(executor.submit)
    assert [(number, type(exc)) for number, exc in submissions.raised.items()] == [(0, ValueError)]
    accepted = submissions.check()
    assert len(accepted) == 3
    finish(kind, executor, before, len(accepted))


@kinds(THREAD_POOLS)
def test_a_failing_initializer_fails_every_accepted_call_with_broken_thread_pool(
    kind: Kind, before: Resources
) -> None:
    executor = kind.make(max_workers=2, initializer=failing_initializer)
    submissions = Submissions()
    for _ in range(6):
        submissions.submit(executor.submit)
    accepted = submissions.check()
    assert submissions.ran == []
    assert all(isinstance(exc, BrokenThreadPool) for exc in submissions.raised.values())
    assert all(isinstance(future.exception(), BrokenThreadPool) for future in accepted)
    finish(kind, executor, before, len(accepted))


class _QueueWithHook:
    """A pool's queue whose next ``put`` first runs ``hook``: the moment a test chooses."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.hook: Callable[[], None] | None = None

    def put(self, item: Any) -> None:
        hook, self.hook = self.hook, None
        if hook is not None:
            hook()
        self._inner.put(item)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@contextlib.contextmanager
def breaks_counted(progress: threading.Semaphore) -> Iterator[None]:
    """Release ``progress`` each time a pool has finished breaking."""
    original = thread._ThreadWorkers.break_pool

    def break_pool(state: thread._ThreadWorkers, reason: str) -> None:
        original(state, reason)
        progress.release()

    with mock.patch.object(
        thread._ThreadWorkers, "break_pool", autospec=True, side_effect=break_pool
    ):
        yield


@pytest.mark.parametrize(
    "make",
    [futurist.ThreadPoolExecutor, futurist.DynamicThreadPoolExecutor],
    ids=["thread", "thread_dynamic"],
)
def test_a_call_dispatched_as_the_pool_breaks_fails_instead_of_waiting_forever(
    make: Callable[..., futurist.ThreadPoolExecutor],
) -> None:
    fail_now = threading.Event()

    def initializer() -> None:
        assert fail_now.wait(WAIT)
        raise RuntimeError("initializer failed")

    executor = make(max_workers=2, initializer=initializer)
    progress = threading.Semaphore(0)
    state = executor._pool
    queue = _QueueWithHook(state.queue)
    state.queue = queue  # type: ignore[assignment]
    # Breaking the pool takes the submit lock: a worker breaking it during a put waits there.
    executor._submit_lock = state.lock = ObservedLock(progress.release)
    submissions = Submissions()
    with breaks_counted(progress):
        # Both workers start and wait in their initializer.
        submissions.submit(executor.submit)
        submissions.submit(executor.submit)

        def both_workers_break() -> None:
            # Between the dispatch's broken check and its put: every initializer fails now,
            # and each worker either finishes breaking the pool or waits to (for this put;
            # breaking takes the submit lock this put holds, so it always waits).
            fail_now.set()
            for _ in range(2):
                assert progress.acquire(timeout=WAIT)

        queue.hook = both_workers_break
        submissions.submit(executor.submit)
        accepted = submissions.check(timeout=5.0)
    assert [type(future.exception()) for future in accepted] == [BrokenThreadPool] * 3
    executor.shutdown(wait=True)
    assert executor.statistics.executed == 3


EXIT_SCRIPT = textwrap.dedent(
    """
    import logging
    import threading
    import futurist

    logging.basicConfig(format="%(name)s %(levelname)s %(message)s")
    gate = threading.Event()
    output = threading.Lock()

    def say(text):
        with output:
            print(text, flush=True)

    class ExitFails(futurist.ThreadPoolExecutor):
        def _on_interpreter_exit(self):
            gate.set()
            super()._on_interpreter_exit()
            raise RuntimeError("exit failed")

    def report(number):
        gate.wait()
        say(f"ran {number}")

    failing = ExitFails(max_workers=1)
    working = futurist.ThreadPoolExecutor(max_workers=1)
    for number in range(20):
        working.submit(report, number)
    failing.submit(say, "failing ran")
    """
)


def test_an_executor_failing_at_interpreter_exit_costs_no_other_executor_its_work() -> None:
    finished = subprocess.run(
        [sys.executable, "-c", EXIT_SCRIPT],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr
    assert sorted(finished.stdout.splitlines()) == sorted(
        ["failing ran"] + [f"ran {number}" for number in range(20)]
    )
    assert "futurist.executors.base ERROR <ExitFails 'thread-0' shut down at" in finished.stderr
    assert "failed to finish its work at interpreter exit" in finished.stderr
    assert "RuntimeError: exit failed" in finished.stderr
