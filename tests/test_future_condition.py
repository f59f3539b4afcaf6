"""futurist.Future waits on its own cheap condition: it must behave as the standard one does."""

from __future__ import annotations

import concurrent.futures
import threading

import pytest

import futurist


def test_future_holds_the_same_state_as_the_standard_librarys() -> None:
    # Our __init__ sets the standard future's attributes itself; a new one must not be missed.
    assert vars(futurist.Future()).keys() == vars(concurrent.futures.Future()).keys()


def test_every_waiting_thread_is_woken_by_the_result() -> None:
    future: futurist.Future[int] = futurist.Future()
    waiting = threading.Barrier(4)
    results: list[int] = []

    def wait() -> None:
        waiting.wait()
        results.append(future.result(timeout=30))

    threads = [threading.Thread(target=wait) for _ in range(3)]
    for thread in threads:
        thread.start()
    waiting.wait()
    future.set_result(7)
    for thread in threads:
        thread.join()
    assert results == [7, 7, 7]


def test_a_waiter_is_woken_by_an_exception_and_by_a_cancel() -> None:
    failed: futurist.Future[int] = futurist.Future()
    cancelled: futurist.Future[int] = futurist.Future()
    threading.Timer(0.01, failed.set_exception, (ValueError("boom"),)).start()
    threading.Timer(0.01, cancelled.cancel).start()
    with pytest.raises(ValueError, match="boom"):
        failed.result(timeout=30)
    with pytest.raises(concurrent.futures.CancelledError):
        cancelled.result(timeout=30)


@pytest.mark.parametrize("timeout", [0, -1, 0.01])
def test_result_times_out_and_forgets_its_waiter(timeout: float) -> None:
    future: futurist.Future[int] = futurist.Future()
    with pytest.raises(concurrent.futures.TimeoutError):
        future.result(timeout=timeout)
    assert not future._condition._waiters  # type: ignore[attr-defined]
    future.set_result(1)
    assert future.result(timeout=0) == 1


def test_waiting_or_notifying_without_the_lock_is_refused() -> None:
    condition = futurist.Future()._condition
    with pytest.raises(RuntimeError, match="un-acquired"):
        condition.wait(0)
    with pytest.raises(RuntimeError, match="un-acquired"):
        condition.notify()


def test_the_standard_wait_and_as_completed_see_our_futures() -> None:
    futures: list[futurist.Future[int]] = [futurist.Future() for _ in range(3)]
    threading.Timer(0.01, futures[1].set_result, (1,)).start()
    done, not_done = concurrent.futures.wait(
        futures, timeout=30, return_when=concurrent.futures.FIRST_COMPLETED
    )
    assert done == {futures[1]}
    assert not_done == {futures[0], futures[2]}
    futures[0].set_result(0)
    futures[2].set_result(2)
    assert sorted(f.result() for f in concurrent.futures.as_completed(futures)) == [0, 1, 2]


def test_a_green_rlock_gets_the_standard_condition(monkeypatch: pytest.MonkeyPatch) -> None:
    # eventlet.monkey_patch() replaces threading.RLock with a Python (greenable) one; futures
    # made afterwards must wait on a condition built on it, as the standard library's do.
    pure_rlock = getattr(threading, "_PyRLock")  # noqa: B009
    monkeypatch.setattr(threading, "RLock", pure_rlock)
    future: futurist.Future[int] = futurist.Future()
    assert isinstance(future._condition, threading.Condition)
    threading.Timer(0.01, future.set_result, (3,)).start()
    assert future.result(timeout=30) == 3
