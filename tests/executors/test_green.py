"""GreenThreadPoolExecutor and GreenFuture: green threads, backlog, shutdown, no hub blocking."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from typing import Any

import eventlet
import eventlet.event
import pytest

import futurist
from futurist import GreenFuture, GreenThreadPoolExecutor, RejectedSubmission


def test_runs_calls_on_green_threads_and_returns_green_futures() -> None:
    with GreenThreadPoolExecutor(max_workers=3) as executor:
        futures = [executor.submit(pow, 2, n) for n in range(10)]
        assert all(isinstance(future, GreenFuture) for future in futures)
        assert [future.result() for future in futures] == [2**n for n in range(10)]
    stats = executor.statistics
    assert (stats.executed, stats.failures, stats.cancelled) == (10, 0, 0)


def test_failures_are_counted_and_keep_their_traceback() -> None:
    def boom() -> None:
        raise KeyError("green")

    with GreenThreadPoolExecutor() as executor:
        future = executor.submit(boom)
        exc, traceback = future.exception_info()
    assert isinstance(exc, KeyError)
    assert traceback is not None
    assert executor.statistics.failures == 1


def test_check_and_reject_sees_items_waiting_for_a_green_thread() -> None:
    seen: list[int] = []

    def record(executor: Any, backlog: int) -> None:
        seen.append(backlog)
        if backlog >= 2:
            raise RejectedSubmission(f"backlog {backlog}")

    release = eventlet.event.Event()
    executor = GreenThreadPoolExecutor(max_workers=2, check_and_reject=record)
    futures = [executor.submit(release.wait) for _ in range(4)]
    assert executor.num_workers == 2
    assert executor.queue_size == 2
    with pytest.raises(RejectedSubmission):
        executor.submit(release.wait)
    assert seen == [0, 0, 0, 1, 2]
    release.send(None)
    executor.shutdown(wait=True)
    assert all(future.done() for future in futures)
    assert executor.statistics.executed == 4


def test_shutdown_waits_for_running_and_queued_work() -> None:
    release = eventlet.event.Event()
    executor = GreenThreadPoolExecutor(max_workers=1)
    futures = [executor.submit(release.wait) for _ in range(3)]
    eventlet.spawn_n(release.send, "go")
    executor.shutdown(wait=True)
    assert [future.result(timeout=0) for future in futures] == ["go"] * 3
    assert executor.num_workers == 0
    with pytest.raises(RuntimeError, match="shut down"):
        executor.submit(pow, 2, 2)


def test_shutdown_cancel_futures_cancels_the_backlog_at_once() -> None:
    release = eventlet.event.Event()
    executor = GreenThreadPoolExecutor(max_workers=1)
    running = executor.submit(release.wait)
    queued = [executor.submit(pow, 2, n) for n in range(3)]
    executor.shutdown(wait=False, cancel_futures=True)
    assert all(future.cancelled() for future in queued)
    assert executor.statistics.cancelled == 3
    release.send("done")
    executor.shutdown(wait=True)
    assert running.result(timeout=0) == "done"


def test_shutdown_from_inside_a_task_does_not_wait_for_itself() -> None:
    executor = GreenThreadPoolExecutor(max_workers=2)

    def stop_own_executor() -> str:
        executor.shutdown(wait=True)
        return "stopped"

    assert executor.submit(stop_own_executor).result(timeout=5) == "stopped"
    assert not executor.alive


def test_submit_from_a_task_while_shutdown_waits_raises() -> None:
    executor = GreenThreadPoolExecutor(max_workers=2)
    release = eventlet.event.Event()

    def submit_again() -> None:
        release.wait()
        executor.submit(pow, 2, 2)

    future = executor.submit(submit_again)
    eventlet.spawn_n(release.send, None)
    executor.shutdown(wait=True)
    with pytest.raises(RuntimeError, match="shut down"):
        future.result(timeout=0)


def test_waiting_on_a_green_future_lets_other_green_threads_run() -> None:
    event = eventlet.event.Event()
    with GreenThreadPoolExecutor() as executor:
        future = executor.submit(event.wait)
        # Only a green thread outside the pool can finish the call; a blocking wait would hang.
        eventlet.spawn_n(event.send, 42)
        assert future.result(timeout=5) == 42


@pytest.mark.timeout(20)
def test_a_check_and_reject_that_yields_does_not_deadlock_the_hub() -> None:
    def yielding(executor: Any, backlog: int) -> None:
        eventlet.sleep(0)

    executor = GreenThreadPoolExecutor(check_and_reject=yielding)
    submitters = [eventlet.spawn(executor.submit, pow, 2, n) for n in range(5)]
    futures = [submitter.wait() for submitter in submitters]
    assert sorted(future.result(timeout=5) for future in futures) == [1, 2, 4, 8, 16]
    executor.shutdown()


def test_synchronous_executor_green_returns_green_futures() -> None:
    executor = futurist.SynchronousExecutor(green=True)
    future = executor.submit(pow, 3, 3)
    assert isinstance(future, GreenFuture)
    assert future.result(timeout=0) == 27
    executor.shutdown()


def test_synchronous_green_shutdown_waits_for_calls_in_other_green_threads() -> None:
    executor = futurist.SynchronousExecutor(green=True)
    gate = eventlet.event.Event()
    started = eventlet.event.Event()

    def gated() -> str:
        started.send()
        return str(gate.wait())

    submitter = eventlet.spawn(executor.submit, gated)
    started.wait()
    eventlet.spawn_n(gate.send, "opened")
    # A native wait here would block the hub, so the gate could never open.
    executor.shutdown(wait=True)
    assert executor.statistics.executed == 1
    assert submitter.wait().result(timeout=0) == "opened"


def test_green_future_wait_times_out_without_blocking_the_hub() -> None:
    future: GreenFuture[int] = GreenFuture()
    ran: list[str] = []
    eventlet.spawn_n(ran.append, "other green thread")
    with pytest.raises(futurist.TimeoutError):
        future.result(timeout=0.01)
    assert ran == ["other green thread"]


@pytest.mark.parametrize(("value", "error"), [(0, ValueError), (-3, ValueError), ("8", TypeError)])
def test_bad_max_workers_is_refused(value: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match="max_workers"):
        GreenThreadPoolExecutor(max_workers=value)


def test_has_no_kind_specific_config_options() -> None:
    assert GreenThreadPoolExecutor.config_options() == []


def _run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_futurist_imports_without_eventlet_and_green_kinds_say_what_to_install() -> None:
    result = _run_python(
        """
        import sys
        sys.modules["eventlet"] = None  # as if eventlet were not installed
        import futurist
        from futurist.executors.delayed import GreenDelayedExecutorMixin

        class GreenDelayed(GreenDelayedExecutorMixin, futurist.SynchronousExecutor):
            pass

        attempts = {
            "pool": futurist.GreenThreadPoolExecutor,
            "future": futurist.GreenFuture,
            "sync": lambda: futurist.SynchronousExecutor(green=True),
            "delayed": lambda: GreenDelayed().submit_after(0, print),
        }
        for name, attempt in attempts.items():
            try:
                attempt()
            except ImportError as exc:
                print(name, exc)
            else:
                print(name, "did not fail")
        with futurist.ThreadPoolExecutor() as executor:
            print("thread", executor.submit(pow, 2, 3).result())
        """
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 5
    for line in lines[:4]:
        assert "pip install eventlet" in line
    assert lines[4] == "thread 8"


def test_works_in_a_monkey_patched_program() -> None:
    result = _run_python(
        """
        import eventlet
        eventlet.monkey_patch()
        import threading
        import time
        import futurist
        from futurist import waiters

        gate = threading.Event()  # green after monkey patching

        def nap(n):
            gate.wait()
            time.sleep(0.001)
            return n

        executor = futurist.GreenThreadPoolExecutor(max_workers=4)
        futures = [executor.submit(nap, n) for n in range(20)]
        threading.Thread(target=gate.set).start()
        done, not_done = waiters.wait_for_all(futures, timeout=30)
        native = futurist.Future()
        native.set_result("native")
        mixed = waiters.wait_for_all([futures[0], native], timeout=30)
        executor.shutdown(wait=True)
        print(sorted(f.result() for f in done) == list(range(20)), len(not_done), len(mixed.done))
        print(executor.statistics.executed)
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "0", "2", "20"]
