"""Waiters on green futures wait greenly; native futures natively; mixing them is refused."""

from __future__ import annotations

import threading

import eventlet
import eventlet.event
import pytest

from futurist import Future, GreenFuture, GreenThreadPoolExecutor, ThreadPoolExecutor
from futurist.waiters import wait_for_all, wait_for_any


def test_wait_for_any_green_lets_other_green_threads_finish_the_work() -> None:
    gate = eventlet.event.Event()
    later = eventlet.event.Event()
    with GreenThreadPoolExecutor() as executor:
        slow = executor.submit(later.wait)
        gated = executor.submit(gate.wait)
        eventlet.spawn_n(gate.send, "opened")
        done, not_done = wait_for_any([slow, gated], timeout=5)
        assert done == {gated}
        assert not_done == {slow}
        later.send("later")
    assert gated.result(timeout=0) == "opened"
    assert slow.result(timeout=0) == "later"


def test_wait_for_all_green_waits_for_every_future() -> None:
    gate = eventlet.event.Event()
    with GreenThreadPoolExecutor(max_workers=2) as executor:
        futures = [executor.submit(gate.wait) for _ in range(5)]
        eventlet.spawn_n(gate.send, 1)
        done, not_done = wait_for_all(futures + futures[:2], timeout=5)
    assert done == set(futures)
    assert not not_done


def test_green_wait_times_out_while_the_hub_keeps_running() -> None:
    never: GreenFuture[None] = GreenFuture()
    ran: list[int] = []
    eventlet.spawn_n(ran.append, 1)
    done, not_done = wait_for_any([never], timeout=0.01)
    assert (done, not_done) == (set(), {never})
    assert ran == [1]
    assert not never._waiters


def test_green_futures_already_done_return_at_once() -> None:
    finished: GreenFuture[int] = GreenFuture()
    finished.set_result(1)
    cancelled: GreenFuture[int] = GreenFuture()
    cancelled.cancel()
    cancelled.set_running_or_notify_cancel()
    pending: GreenFuture[int] = GreenFuture()
    assert wait_for_all([finished, cancelled]) == ({finished, cancelled}, set())
    assert wait_for_any([finished, pending]) == ({finished}, {pending})


def test_native_futures_wait_natively() -> None:
    gate = threading.Event()
    with ThreadPoolExecutor(max_workers=2) as executor:
        futures = [executor.submit(gate.wait, 5) for _ in range(3)]
        threading.Thread(target=gate.set).start()
        done, not_done = wait_for_all(futures, timeout=5)
    assert done == set(futures)
    assert not not_done


def test_mixing_green_and_native_futures_is_refused_clearly() -> None:
    green: GreenFuture[int] = GreenFuture()
    native: Future[int] = Future()
    with pytest.raises(
        RuntimeError, match=r"green and native futures together \(1 green, 1 native\)"
    ):
        wait_for_any([green, native])
    with pytest.raises(RuntimeError, match="wait for each kind separately"):
        wait_for_all([native, green], timeout=0)
