"""SynchronousExecutor specifics: runs in the caller, restart, run_work_func."""

from __future__ import annotations

import concurrent.futures
import threading

import pytest

import futurist
from futurist.executors.base import WorkItem

WAIT = 30.0


def signal_then_wait(started: threading.Event, release: threading.Event) -> bool:
    started.set()
    return release.wait(WAIT)


def call_running_in_another_thread(
    executor: futurist.SynchronousExecutor,
) -> tuple[threading.Thread, threading.Event]:
    """Start a thread whose call on ``executor`` runs until the returned event is set."""
    started = threading.Event()
    release = threading.Event()
    caller = threading.Thread(target=executor.submit, args=(signal_then_wait, started, release))
    caller.start()
    assert started.wait(WAIT)
    return caller, release


def test_calls_run_in_the_caller_before_submit_returns() -> None:
    executor = futurist.SynchronousExecutor()
    future = executor.submit(threading.current_thread)
    assert future.done()
    assert future.result() is threading.current_thread()


def test_restart_clears_statistics_and_accepts_work() -> None:
    executor = futurist.SynchronousExecutor()
    executor.submit(int)
    executor.shutdown()
    with pytest.raises(RuntimeError):
        executor.submit(int)
    executor.restart()
    assert executor.alive
    assert executor.statistics == futurist.ExecutorStatistics()
    assert executor.submit(int, "7").result() == 7


def test_restart_while_alive_keeps_statistics() -> None:
    executor = futurist.SynchronousExecutor()
    executor.submit(int)
    executor.restart()
    assert executor.statistics.executed == 1


def test_run_work_func_runs_each_item() -> None:
    ran: list[WorkItem] = []

    def run(work: WorkItem) -> None:
        ran.append(work)
        work.run()

    executor = futurist.SynchronousExecutor(run_work_func=run)
    assert executor.submit(pow, 2, 3).result() == 8
    assert len(ran) == 1


def test_a_task_may_submit_to_its_own_executor() -> None:
    executor = futurist.SynchronousExecutor()
    outer = executor.submit(lambda: executor.submit(pow, 3, 2).result())
    assert outer.result() == 9
    assert executor.statistics.executed == 2


def test_a_task_may_shut_down_its_own_executor() -> None:
    executor = futurist.SynchronousExecutor()
    assert executor.submit(executor.shutdown, wait=True).result() is None
    assert not executor.alive


def test_shutdown_waits_for_calls_running_in_other_threads() -> None:
    executor = futurist.SynchronousExecutor()
    caller, release = call_running_in_another_thread(executor)
    stopper = threading.Thread(target=executor.shutdown)
    stopper.start()
    stopper.join(0.05)
    assert stopper.is_alive()
    release.set()
    stopper.join(WAIT)
    caller.join(WAIT)
    assert not stopper.is_alive()
    assert executor.statistics.executed == 1


def test_run_work_func_must_be_callable() -> None:
    with pytest.raises(ValueError, match="run_work_func must be callable"):
        futurist.SynchronousExecutor(run_work_func=None)  # type: ignore[arg-type]


def test_a_running_call_s_future_handed_out_by_drain_wakes_whoever_waits_on_it() -> None:
    """The future of a call still running in another thread (made without a lock, which the
    first reader makes) wakes its waiter, its done callback and ``as_completed``."""
    executor = futurist.SynchronousExecutor()
    caller, release = call_running_in_another_thread(executor)
    (running,) = executor.drain(0)
    assert running.running()
    called: list[concurrent.futures.Future[bool]] = []
    running.add_done_callback(called.append)
    results: list[bool] = []
    completed: list[concurrent.futures.Future[bool]] = []
    readers = [
        threading.Thread(target=lambda: results.append(running.result(WAIT))),
        threading.Thread(
            target=lambda: completed.extend(concurrent.futures.as_completed([running], WAIT))
        ),
    ]
    for reader in readers:
        reader.start()
    release.set()
    for thread in [caller, *readers]:
        thread.join(WAIT)
    assert (called, results, completed) == ([running], [True], [running])
    assert executor.statistics.executed == 1


@pytest.mark.parametrize(("green", "name"), [(False, "Future"), (True, "GreenFuture")])
def test_a_call_s_future_is_the_kind_s_future_class_by_name_and_type(
    green: bool, name: str
) -> None:
    if green:
        pytest.importorskip("eventlet")
    executor = futurist.SynchronousExecutor(green=green)
    future = executor.submit(int, "3")
    expected = futurist.GreenFuture if green else futurist.Future
    assert isinstance(future, expected)
    assert repr(future).startswith(f"<{name} at ")
    assert future.result() == 3
    called: list[object] = []
    future.add_done_callback(called.append)
    assert called == [future]
