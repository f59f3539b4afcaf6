"""Faults in the process pool's own machinery, injected at a chosen moment.

Only the fault is mocked (``mock.patch.object`` with a ``side_effect``); the pool, its manager
thread and its worker processes are real. Whatever fails, every accepted future ends exactly
once within a bounded wait, ``shutdown(wait=True)`` returns, the statistics count every
accepted call, and no thread, process or file descriptor outlives the pool. A fault at submit
time either raises from ``submit`` with nothing recorded, or fails the returned future.
"""

from __future__ import annotations

import concurrent.futures
import errno
import gc
import multiprocessing
import os
import pickle
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import resource_tracker
from multiprocessing.process import BaseProcess
from typing import Any
from unittest import mock

import pytest

import futurist
from futurist.executors import _process_worker
from futurist.executors._process_state import Worker as _Worker
from futurist.executors.process import _Pool
from tests.faults import outliving_children, settled_fds

WAIT = 30.0
"""Upper bound for any wait here; reaching it means a bug, not a slow machine."""

POISON = "poison"
"""The argument that marks the call a fault is injected into."""

_PARENT = os.getpid()


def identity(value: Any) -> Any:
    return value


def exit_with(code: int) -> None:
    os._exit(code)


def make(start_method: str = "fork", **kwargs: Any) -> futurist.ProcessPoolExecutor:
    return futurist.ProcessPoolExecutor(
        mp_context=multiprocessing.get_context(start_method), **kwargs
    )


def in_the_manager() -> bool:
    """True in the pool's manager thread (not in a worker forked with the patch in place)."""
    return os.getpid() == _PARENT and threading.current_thread().name.endswith("-manager")


@pytest.fixture
def nothing_outlives() -> Iterator[None]:
    """Fail the test if a thread, child process or file descriptor it made is left over."""
    # The spawn and forkserver methods start one resource tracker per process, for good.
    resource_tracker.ensure_running()
    gc.collect()  # close what earlier tests left to the collector, so it is not counted here
    fds = frozenset(os.listdir("/proc/self/fd"))
    threads = set(threading.enumerate())
    children = set(multiprocessing.active_children())
    yield
    assert outliving_children(children) == set()
    assert set(threading.enumerate()) - threads == set()
    assert not settled_fds(fds)


def settle(
    executor: futurist.ProcessPoolExecutor, futures: Sequence[concurrent.futures.Future[Any]]
) -> None:
    """Every accepted future ends in time, shutdown returns, and the statistics add up."""
    _, not_done = concurrent.futures.wait(futures, timeout=WAIT)
    assert not not_done
    stopper = threading.Thread(target=executor.shutdown)
    stopper.start()
    stopper.join(WAIT)
    assert not stopper.is_alive()
    stats = executor.statistics
    assert stats.executed + stats.cancelled == len(futures)


def starts_only(count: int) -> Callable[[BaseProcess], None]:
    """A ``Process.start`` that really starts ``count`` processes, then fails like fork."""
    real_start = BaseProcess.start
    started = 0

    def start(process: BaseProcess) -> None:
        nonlocal started
        if started >= count:
            raise OSError(errno.EAGAIN, "Resource temporarily unavailable (injected)")
        started += 1
        real_start(process)

    return start


# -- a process that cannot start ---------------------------------------------------------------


@pytest.mark.parametrize("start_method", ["fork", "spawn"])
def test_a_first_worker_that_cannot_start_fails_the_submit_and_leaves_nothing(
    start_method: str, nothing_outlives: None
) -> None:
    backlogs: list[int] = []
    executor = make(start_method, max_workers=2, check_and_reject=lambda _, n: backlogs.append(n))
    process_class = multiprocessing.get_context(start_method).Process  # type: ignore[attr-defined]
    with mock.patch.object(process_class, "start", autospec=True, side_effect=starts_only(0)):
        for _ in range(2):
            with pytest.raises(OSError, match="injected"):
                executor.submit(identity, 1)
    assert backlogs == [0, 0]
    stats = executor.statistics
    assert (stats.executed, stats.cancelled, stats.failures) == (0, 0, 0)
    future = executor.submit(identity, "after")
    assert future.result(WAIT) == "after"
    settle(executor, [future])


def test_a_later_worker_that_cannot_start_leaves_the_work_to_the_running_one(
    nothing_outlives: None,
) -> None:
    executor = make(max_workers=3)
    with mock.patch.object(
        multiprocessing.get_context("fork").Process,
        "start",
        autospec=True,
        side_effect=starts_only(1),
    ):
        futures = [executor.submit(identity, n) for n in range(20)]
        assert [future.result(WAIT) for future in futures] == list(range(20))
    settle(executor, futures)
    assert executor.statistics.failures == 0


def test_a_dead_worker_that_cannot_be_replaced_breaks_the_pool(nothing_outlives: None) -> None:
    executor = make(max_workers=1)
    with mock.patch.object(
        multiprocessing.get_context("fork").Process,
        "start",
        autospec=True,
        side_effect=starts_only(1),
    ):
        crash = executor.submit(exit_with, 3)
        queued = [executor.submit(identity, n) for n in range(5)]
        with pytest.raises(futurist.WorkerCrashed, match="exited with code 3"):
            crash.result(WAIT)
        for future in queued:
            with pytest.raises(BrokenProcessPool, match="cannot start a worker process"):
                future.result(WAIT)
        with pytest.raises(BrokenProcessPool, match="injected"):
            executor.submit(identity, "refused")
    settle(executor, [crash, *queued])
    assert executor.statistics.failures == 6


# -- the worker pipes --------------------------------------------------------------------------


real_write = _Pool._write
real_receive = _Pool._receive


def only_the_poisoned_call_fails(
    executor: futurist.ProcessPoolExecutor, why: str
) -> list[concurrent.futures.Future[Any]]:
    """Submit ten calls around one of ``POISON``; only that one fails (``WorkerCrashed`` whose
    message says ``why`` ... ``its pipe``). Returns every future, the poisoned one last."""
    futures = [executor.submit(identity, n) for n in range(5)]
    poisoned = executor.submit(identity, POISON)
    futures += [executor.submit(identity, n) for n in range(5, 10)]
    with pytest.raises(futurist.WorkerCrashed, match=f"{why} its pipe"):
        poisoned.result(WAIT)
    assert [future.result(WAIT) for future in futures] == list(range(10))
    return [*futures, poisoned]


@pytest.mark.parametrize(
    "fault",
    [OSError(errno.EIO, "Input/output error (injected)"), BrokenPipeError("injected")],
    ids=["OSError", "BrokenPipeError"],
)
def test_a_failing_send_fails_only_its_call(fault: OSError, nothing_outlives: None) -> None:
    def write(worker: _Worker, data: memoryview) -> int:
        if POISON.encode() in bytes(data):
            raise fault
        return real_write(worker, data)

    executor = make(max_workers=2)
    with mock.patch.object(_Pool, "_write", side_effect=write):
        futures = only_the_poisoned_call_fails(executor, "after the parent failed to write to")
    settle(executor, futures)
    assert executor.statistics.failures == 1


def test_a_failing_stop_message_kills_the_worker_instead(nothing_outlives: None) -> None:
    stop = b"\0\0\0\0"

    def write(worker: _Worker, data: memoryview) -> int:
        if bytes(data) == stop:
            raise BrokenPipeError("injected")
        return real_write(worker, data)

    executor = make(max_workers=2)
    futures = [executor.submit(identity, n) for n in range(4)]
    assert [future.result(WAIT) for future in futures] == list(range(4))
    with mock.patch.object(_Pool, "_write", side_effect=write):
        settle(executor, futures)


def test_a_failing_receive_fails_only_its_call(nothing_outlives: None) -> None:
    def receive(worker: _Worker) -> bytes:
        message = real_receive(worker)
        if message and pickle.loads(message)[:2] == (_process_worker.RETURNED, POISON):
            raise OSError(errno.ECONNRESET, "Connection reset by peer (injected)")
        return message

    executor = make(max_workers=2)
    with mock.patch.object(_Pool, "_receive", side_effect=receive):
        futures = only_the_poisoned_call_fails(executor, "after the parent failed to read from")
    settle(executor, futures)


# -- pickling inside the manager ---------------------------------------------------------------


def test_a_call_the_manager_fails_to_pickle_fails_only_itself(nothing_outlives: None) -> None:
    real_dumps = pickle.dumps

    def dumps(obj: Any, *args: Any, **kwargs: Any) -> bytes:
        if in_the_manager() and isinstance(obj, tuple) and obj[1:2] == ((POISON,),):
            raise MemoryError("injected")
        return real_dumps(obj, *args, **kwargs)

    executor = make(max_workers=2)
    with mock.patch.object(pickle, "dumps", side_effect=dumps):
        poisoned = executor.submit(identity, POISON)
        futures = [executor.submit(identity, n) for n in range(10)]
        exc = poisoned.exception(WAIT)
        assert isinstance(exc, futurist.PicklingFailed)
        assert isinstance(exc, BrokenProcessPool)
        assert isinstance(exc.__cause__, MemoryError)
        assert [future.result(WAIT) for future in futures] == list(range(10))
    settle(executor, [*futures, poisoned])


def test_an_outcome_the_manager_fails_to_unpickle_fails_only_its_call(
    nothing_outlives: None,
) -> None:
    real_loads = pickle.loads

    def loads(data: bytes, *args: Any, **kwargs: Any) -> Any:
        outcome = real_loads(data, *args, **kwargs)
        if in_the_manager() and outcome[:2] == (_process_worker.RETURNED, POISON):
            raise EOFError("injected")
        return outcome

    executor = make(max_workers=2)
    with mock.patch.object(pickle, "loads", side_effect=loads):
        poisoned = executor.submit(identity, POISON)
        futures = [executor.submit(identity, n) for n in range(10)]
        exc = poisoned.exception(WAIT)
        assert isinstance(exc, futurist.UnpicklingFailed)
        assert isinstance(exc, BrokenProcessPool)
        assert isinstance(exc.__cause__, EOFError)
        assert [future.result(WAIT) for future in futures] == list(range(10))
    settle(executor, [*futures, poisoned])


def refuse_to_start() -> None:
    raise RuntimeError("no database")


def test_an_unreadable_message_from_a_starting_worker_fails_no_more_than_its_call(
    nothing_outlives: None,
) -> None:
    real_loads = pickle.loads
    failed = threading.Event()

    def loads(data: bytes, *args: Any, **kwargs: Any) -> Any:
        outcome = real_loads(data, *args, **kwargs)
        initializer_failed = outcome[0] == _process_worker.INITIALIZER_FAILED
        if in_the_manager() and initializer_failed and not failed.is_set():
            failed.set()
            raise EOFError("injected")
        return outcome

    executor = make(max_workers=1, initializer=refuse_to_start)
    with mock.patch.object(pickle, "loads", side_effect=loads):
        futures = [executor.submit(identity, n) for n in range(5)]
        _, not_done = concurrent.futures.wait(futures, timeout=WAIT)
    assert not not_done
    assert failed.is_set()
    # The unreadable message fails the call the worker holds (taken for its outcome) or, if it
    # holds none yet, gets the worker replaced; the replacement's initializer then fails
    # readably and breaks the pool. The manager itself never fails.
    for future in futures:
        exc = future.exception()
        assert isinstance(exc, BrokenProcessPool)
        assert "manager of process pool" not in str(exc)
    settle(executor, futures)
