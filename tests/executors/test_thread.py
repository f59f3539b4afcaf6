"""ThreadPoolExecutor specifics: thread reuse, names, initializer, sizes and bad input."""

from __future__ import annotations

import gc
import os
import select
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

import futurist
from futurist.executors import workers
from futurist.executors.thread import default_thread_count
from tests.executors.kinds import DelayedThreadPoolExecutor

WAIT = 30.0


def signal_then_wait(started: threading.Event, release: threading.Event) -> bool:
    started.set()
    return release.wait(WAIT)


def current_thread_name() -> str:
    return threading.current_thread().name


def test_default_max_workers_is_five_per_cpu() -> None:
    with futurist.ThreadPoolExecutor() as executor:
        assert executor.max_workers == default_thread_count()


def test_sequential_work_runs_on_one_thread() -> None:
    with futurist.ThreadPoolExecutor(max_workers=8) as executor:
        names = {executor.submit(current_thread_name).result(WAIT) for _ in range(50)}
        assert len(names) == 1
        assert executor.num_workers == 1


def test_idle_workers_are_counted() -> None:
    with futurist.ThreadPoolExecutor(max_workers=4) as executor:
        executor.submit(int).result(WAIT)
        # The worker releases its idle slot right after setting the result.
        for _ in range(1000):
            if executor.get_num_idle_workers() == 1:
                break
            threading.Event().wait(0.001)
        assert executor.get_num_idle_workers() == 1


def test_queue_size_counts_waiting_calls() -> None:
    release = threading.Event()
    started = threading.Event()
    with futurist.ThreadPoolExecutor(max_workers=1) as executor:
        executor.submit(signal_then_wait, started, release)
        assert started.wait(WAIT)
        for _ in range(3):
            executor.submit(int)
        assert executor.queue_size == 3
        release.set()


def test_threads_are_named_with_the_prefix() -> None:
    with futurist.ThreadPoolExecutor(max_workers=1, thread_name_prefix="worker") as executor:
        assert executor.submit(current_thread_name).result(WAIT) == "worker_0"


def test_initializer_runs_in_each_thread() -> None:
    seen: list[Any] = []
    with futurist.ThreadPoolExecutor(
        max_workers=1, initializer=seen.append, initargs=("ready",)
    ) as executor:
        executor.submit(int).result(WAIT)
    assert seen == ["ready"]


def test_a_failing_initializer_breaks_the_pool_and_fails_queued_work() -> None:
    def explode() -> None:
        raise OSError("no database")

    executor = futurist.ThreadPoolExecutor(max_workers=1, initializer=explode)
    future = executor.submit(int)
    with pytest.raises(futurist.BrokenExecutor, match="initializer"):
        future.result(WAIT)
    with pytest.raises(futurist.BrokenExecutor):
        executor.submit(int)
    executor.shutdown(wait=True)
    assert executor.statistics.failures == 1


def test_shutdown_from_inside_a_task_does_not_deadlock() -> None:
    executor = futurist.ThreadPoolExecutor(max_workers=1)
    future = executor.submit(lambda: executor.shutdown(wait=True))
    assert future.result(WAIT) is None
    executor.shutdown(wait=True)
    assert not executor.alive


def test_runtime_excludes_time_spent_queued(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [0.0]
    monkeypatch.setattr(workers, "perf_counter", lambda: now[0])
    release = threading.Event()
    started = threading.Event()

    def blocker() -> None:
        started.set()
        release.wait(WAIT)

    with futurist.ThreadPoolExecutor(max_workers=1) as executor:
        executor.submit(blocker)
        assert started.wait(WAIT)
        queued = executor.submit(int)
        now[0] += 100.0  # the blocker runs for 100 s while the second call waits
        release.set()
        queued.result(WAIT)
    # Counting queued time would make it 200 s: the second call ran for no time at all.
    assert executor.statistics.runtime == 100.0


def test_a_queued_call_without_keywords_keeps_no_container_of_its_own() -> None:
    # Each container a queued call keeps alive is one more object for the garbage collector to
    # count and traverse: a call without keywords keeps its future (the future, its condition
    # and two lists) and its work item, not an empty keyword dict besides.
    release = threading.Event()
    started = threading.Event()
    calls = 1000
    with futurist.ThreadPoolExecutor(max_workers=1) as executor:
        executor.submit(signal_then_wait, started, release)
        assert started.wait(WAIT)
        gc.collect()
        gc.disable()
        try:
            before = gc.get_count()[0]
            queued = [executor.submit(int) for _ in range(calls)]
            kept = gc.get_count()[0] - before
        finally:
            gc.enable()
            release.set()
        assert [future.result(WAIT) for future in queued] == [0] * calls
    assert kept < 5.5 * calls


def test_a_collected_pool_lets_its_threads_exit() -> None:
    executor = futurist.ThreadPoolExecutor(max_workers=2)
    executor.submit(int).result(WAIT)
    threads = list(executor._pool.threads)
    del executor
    for thread in threads:
        thread.join(WAIT)
        assert not thread.is_alive()


@pytest.mark.parametrize(
    ("value", "error", "match"),
    [
        (0, ValueError, "max_workers must be greater than 0, got 0"),
        (-3, ValueError, "max_workers"),
        (2.5, TypeError, "max_workers must be an integer"),
        ("4", TypeError, "max_workers"),
        (True, TypeError, "max_workers"),
    ],
)
def test_bad_max_workers(value: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        futurist.ThreadPoolExecutor(max_workers=value)


def test_check_and_reject_must_be_callable() -> None:
    with pytest.raises(TypeError, match="check_and_reject"):
        futurist.ThreadPoolExecutor(check_and_reject=5)  # type: ignore[arg-type]


def test_initializer_must_be_callable() -> None:
    with pytest.raises(TypeError, match="initializer"):
        futurist.ThreadPoolExecutor(initializer="setup")  # type: ignore[arg-type]


def in_a_forked_child(run: Callable[[], str]) -> tuple[str, int]:
    """Run ``run`` in a child made by ``os.fork()``; return what it reported and its exit code.

    The child reports ``run()``'s return value, or the error it raised, through a pipe and
    always ends with ``os._exit``, whatever happens there; one that does not answer within
    ``WAIT`` seconds is killed.
    """
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        status = 70
        try:
            os.close(read)
            try:
                report = run()
            except BaseException as exc:
                report = f"raised {exc!r}"
            os.write(write, report.encode())
            status = 0
        finally:
            os._exit(status)
    os.close(write)
    chunks: list[bytes] = []
    deadline = time.monotonic() + WAIT
    try:
        while select.select([read], [], [], max(0.0, deadline - time.monotonic()))[0]:
            chunk = os.read(read, 65536)
            if not chunk:
                break
            chunks.append(chunk)
        else:
            os.kill(pid, signal.SIGKILL)
    finally:
        os.close(read)
        _, wait_status = os.waitpid(pid, 0)
    return b"".join(chunks).decode(), os.waitstatus_to_exitcode(wait_status)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX only")
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
@pytest.mark.parametrize(
    "pool_class",
    [futurist.ThreadPoolExecutor, futurist.DynamicThreadPoolExecutor, DelayedThreadPoolExecutor],
)
def test_a_forked_child_runs_calls_on_fresh_workers_of_its_inherited_pool(
    pool_class: type[futurist.ThreadPoolExecutor],
) -> None:
    parent = os.getpid()
    submitting, inside, let_submit = threading.Event(), threading.Event(), threading.Event()

    def hold_the_submit_lock_in_the_parent(executor: Any, backlog: int) -> None:
        # check_and_reject runs under the submit lock: at the fork a parent thread holds it.
        if os.getpid() == parent and submitting.is_set():
            inside.set()
            let_submit.wait(WAIT)

    executor = pool_class(max_workers=2, check_and_reject=hold_the_submit_lock_in_the_parent)
    starts, release = [threading.Event(), threading.Event()], threading.Event()

    def in_the_child() -> str:
        # Every inherited thread is the parent's and busy there: only fresh workers can run these.
        first = executor.submit(pow, 2, 5).result(WAIT / 3)
        if isinstance(executor, DelayedThreadPoolExecutor):
            later = executor.submit_after(0, pow, 3, 3).result(WAIT / 3)
        else:
            later = executor.prioritized(1).submit(pow, 3, 3).result(WAIT / 3)
        executor.shutdown(wait=True)
        return f"{first} {later} {executor.num_workers}"

    late: list[Any] = []
    try:
        for started in starts:
            executor.submit(signal_then_wait, started, release)
            assert started.wait(WAIT)
        queued = executor.submit(pow, 2, 3)
        submitting.set()
        submitter = threading.Thread(target=lambda: late.append(executor.submit(pow, 2, 4)))
        submitter.start()
        assert inside.wait(WAIT)
        report, status = in_a_forked_child(in_the_child)
    finally:
        let_submit.set()
        release.set()
    submitter.join(WAIT)
    assert (report, status) == ("32 27 0", 0)
    # The parent's calls ran in the parent only, once each.
    assert (queued.result(WAIT), late[0].result(WAIT)) == (8, 16)
    executor.shutdown(wait=True)
    assert executor.statistics.executed == 4
