"""ProcessPoolExecutor beyond the shared contract: crashes, timeouts, pickling, workers' life."""

from __future__ import annotations

import collections
import concurrent.futures
import ctypes
import faulthandler
import logging
import multiprocessing
import os
import pickle
import re
import signal
import threading
import time
from concurrent.futures.process import BrokenProcessPool
from types import TracebackType
from typing import Any
from unittest import mock

import pytest

import futurist
from futurist import rejection
from futurist.executors import _process_deadlines
from futurist.executors.base import Executor
from tests.executors.kinds import EventLike

WAIT = 30.0
"""Upper bound for any wait here; reaching it means a bug, not a slow machine."""
TASK_TIMEOUT_RANGE = r"^task_timeout must be a finite number of seconds > 0 or None \(no limit\)"

CONTEXTS = ["fork", "spawn", "forkserver"]

_initialized: list[str] = []


def make(start_method: str, **kwargs: Any) -> futurist.ProcessPoolExecutor:
    return futurist.ProcessPoolExecutor(
        mp_context=multiprocessing.get_context(start_method), **kwargs
    )


@pytest.fixture(params=CONTEXTS)
def start_method(request: pytest.FixtureRequest) -> str:
    method: str = request.param
    return method


# -- calls run in the worker processes ---------------------------------------------------------


def identity(value: Any) -> Any:
    return value


def pid() -> int:
    return os.getpid()


def wait_for(started: EventLike, release: EventLike, value: Any) -> Any:
    started.set()
    if not release.wait(WAIT):
        raise AssertionError("the test never released this call")
    return value


def exit_with(code: int) -> None:
    os._exit(code)


def kill_myself() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def read_address_zero() -> bytes:
    faulthandler.disable()  # a forked worker inherits pytest's handler; keep the output clean
    return ctypes.string_at(0)


def spin(seconds: float) -> float:
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        pass
    return seconds


def hold(pids: Any, release: EventLike) -> int:
    """Say which worker runs this call, then wait until released; return that worker's pid."""
    pids.put(os.getpid())
    if not release.wait(WAIT):
        raise AssertionError("the test never released this call")
    return os.getpid()


def hold_ignoring_sigterm(pids: Any, release: EventLike) -> int:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    return hold(pids, release)


def fail_deep(message: str) -> None:
    raise KeyError(message)


def return_a_lock() -> Any:
    return threading.Lock()


class HoldsALock(Exception):
    def __init__(self) -> None:
        super().__init__("holds a lock")
        self.lock = threading.Lock()


def raise_unpicklable() -> None:
    raise HoldsALock()


class NeedsTwoArguments(Exception):
    """Pickles as its class and its one message, which its two-argument ``__init__`` refuses.

    The ``__reduce__`` is the one ``BaseException`` has, spelled out: tblib's exception pickling
    (which importing ``distributed`` installs for every exception class defined by then) keeps
    a class's own ``__reduce__``, so the parent fails to unpickle it either way.
    """

    def __init__(self, first: str, second: str) -> None:
        super().__init__(f"{first} {second}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), self.args)


def raise_unloadable() -> None:
    raise NeedsTwoArguments("one", "two")


_pool_seen_by_children: list[futurist.ProcessPoolExecutor] = []


def submit_to_own_pool() -> str:
    try:
        _pool_seen_by_children[0].submit(identity, 1)
    except RuntimeError as exc:
        return str(exc)
    return "accepted"


def remember(tag: str) -> None:
    _initialized.append(tag)


def initialized() -> list[str]:
    return list(_initialized)


def refuse_to_start() -> None:
    raise RuntimeError("no database")


def note_start_and_exit(path: str) -> None:
    """An initializer that notes its worker's start in ``path``, then ends that worker."""
    with open(path, "a") as starts:
        starts.write(f"{os.getpid()}\n")
    os._exit(7)


def refuse_when_told(told: EventLike) -> None:
    if not told.wait(WAIT):
        raise AssertionError("the test never told the initializer to fail")
    raise RuntimeError("told to refuse")


def first_worker_waits(token: Any, holding: EventLike, release: EventLike) -> None:
    """The worker that takes the one token waits in its initializer until released."""
    try:
        token.get_nowait()
    except Exception:  # queue.Empty, through the manager's proxy
        return
    holding.set()
    if not release.wait(WAIT):
        raise AssertionError("the test never released the initializer")


def fail_to_load() -> None:
    raise ValueError("cannot be rebuilt here")


class LoadsWithAnError:
    """Pickles fine; unpickling it raises."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (fail_to_load, ())


class LoadsByExiting:
    """Pickles fine; unpickling it ends the process."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (os._exit, (5,))


def return_unloadable() -> LoadsWithAnError:
    return LoadsWithAnError()


# -- construction ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"max_workers": 0}, ValueError, "max_workers must be greater than 0, got 0"),
        ({"max_workers": "2"}, TypeError, "max_workers must be an integer"),
        ({"task_timeout": 0}, ValueError, TASK_TIMEOUT_RANGE),
        ({"task_timeout": -1.5}, ValueError, TASK_TIMEOUT_RANGE),
        ({"task_timeout": float("nan")}, ValueError, TASK_TIMEOUT_RANGE),
        ({"task_timeout": float("inf")}, ValueError, TASK_TIMEOUT_RANGE),
        ({"task_timeout": "5"}, TypeError, "task_timeout must be a number of seconds"),
        ({"max_tasks_per_child": 0}, ValueError, "max_tasks_per_child must be greater than 0"),
        ({"max_tasks_per_child": 1.5}, TypeError, "max_tasks_per_child must be an integer"),
        ({"mp_context": "spawn"}, TypeError, "mp_context must be a multiprocessing context"),
        ({"initializer": 3}, TypeError, "initializer must be a callable"),
        ({"check_and_reject": 3}, TypeError, "check_and_reject must be a callable"),
    ],
)
def test_bad_arguments_are_refused_with_clear_errors(
    kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        futurist.ProcessPoolExecutor(**kwargs)


def test_max_tasks_per_child_is_refused_with_fork() -> None:
    with pytest.raises(
        ValueError, match="incompatible with the 'fork' multiprocessing start method"
    ):
        make("fork", max_tasks_per_child=3)


def test_defaults_follow_the_standard_library() -> None:
    executor = futurist.ProcessPoolExecutor()
    assert executor.max_workers == os.cpu_count()
    assert executor.alive
    executor.shutdown()
    assert not executor.alive


def test_max_workers_and_mp_context_are_the_first_two_positional_arguments() -> None:
    with futurist.ProcessPoolExecutor(1, multiprocessing.get_context("spawn")) as executor:
        assert executor.max_workers == 1
        assert executor.submit(pid).result(WAIT) != os.getpid()


# -- statistics and rejection ------------------------------------------------------------------


def test_statistics_count_runtime_in_the_child_and_failures(
    start_method: str, children_checked: None
) -> None:
    with make(start_method, max_workers=2) as executor:
        assert executor.submit(spin, 0.05).result(WAIT) == 0.05
        with pytest.raises(KeyError):
            executor.submit(fail_deep, "missing").result(WAIT)
        stats = executor.statistics
    assert stats.executed == 2
    assert stats.failures == 1
    assert stats.cancelled == 0
    assert stats.runtime >= 0.05


def test_check_and_reject_sees_calls_not_yet_sent_to_a_worker(manager: Any) -> None:
    seen: list[int] = []

    def check(executor: Executor, backlog: int) -> None:
        seen.append(backlog)
        rejection.reject_when_reached(2)(executor, backlog)

    with make("fork", max_workers=1, check_and_reject=check) as executor:
        started, release = manager.Event(), manager.Event()
        blocker = executor.submit(wait_for, started, release, "blocker")
        assert started.wait(WAIT)
        queued = [executor.submit(identity, n) for n in range(2)]
        with pytest.raises(futurist.RejectedSubmission):
            executor.submit(identity, 99)
        release.set()
        assert blocker.result(WAIT) == "blocker"
        assert [f.result(WAIT) for f in queued] == [0, 1]
    assert seen == [0, 0, 1, 2]
    assert executor.statistics.executed == 3


def test_cancelled_queued_calls_never_run_and_are_counted(manager: Any) -> None:
    with make("fork", max_workers=1) as executor:
        started, release = manager.Event(), manager.Event()
        blocker = executor.submit(wait_for, started, release, 0)
        assert started.wait(WAIT)
        queued = [executor.submit(identity, n) for n in range(3)]
        assert queued[1].cancel()
        release.set()
        assert blocker.result(WAIT) == 0
        assert queued[0].result(WAIT) == 0
        assert queued[2].result(WAIT) == 2
    assert queued[1].cancelled()
    assert executor.statistics.cancelled == 1
    assert executor.statistics.executed == 3


# -- crash tolerance ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("crash", "args", "says"),
    [
        (exit_with, (7,), "exited with code 7"),
        (kill_myself, (), "killed by signal SIGKILL (9)"),
        (read_address_zero, (), "killed by signal SIGSEGV (11)"),
    ],
    ids=["os._exit", "SIGKILL", "segfault"],
)
@pytest.mark.usefixtures("children_checked")
def test_a_dying_worker_fails_only_its_call_and_is_replaced(
    start_method: str,
    manager: Any,
    crash: Any,
    args: tuple[Any, ...],
    says: str,
) -> None:
    with make(start_method, max_workers=2) as executor:
        started, release = manager.Event(), manager.Event()
        survivor = executor.submit(wait_for, started, release, "survivor")
        assert started.wait(WAIT)
        doomed = executor.submit(crash, *args)
        queued = [executor.submit(identity, n) for n in range(20)]
        with pytest.raises(futurist.WorkerCrashed, match=r"worker process .*") as caught:
            doomed.result(WAIT)
        message = str(caught.value)
        assert says in message
        assert crash.__name__ in message
        assert isinstance(caught.value, BrokenProcessPool)
        assert [f.result(WAIT) for f in queued] == list(range(20))
        release.set()
        assert survivor.result(WAIT) == "survivor"
        assert executor.submit(identity, "still working").result(WAIT) == "still working"
    stats = executor.statistics
    assert (stats.executed, stats.failures, stats.cancelled) == (23, 1, 0)


def test_crashes_in_a_row_each_fail_only_themselves(children_checked: None) -> None:
    with make("fork", max_workers=2) as executor:
        futures = [
            executor.submit(exit_with, 3) if n % 3 == 0 else executor.submit(identity, n)
            for n in range(30)
        ]
        crashed = [n for n, f in enumerate(futures) if f.exception(WAIT) is not None]
        assert crashed == list(range(0, 30, 3))
        assert all(futures[n].result() == n for n in range(30) if n % 3)
    assert executor.statistics.failures == 10


# -- task_timeout ------------------------------------------------------------------------------


def test_a_call_past_task_timeout_fails_and_its_worker_is_replaced(
    start_method: str, manager: Any, children_checked: None
) -> None:
    never = manager.Event()
    # The initializer makes each worker import this module before the clock of its first call
    # starts: task_timeout counts the call, not a new worker's start.
    with make(
        start_method, max_workers=2, task_timeout=0.5, initializer=identity, initargs=(None,)
    ) as executor:
        assert executor.submit(identity, "warm").result(WAIT) == "warm"
        stuck = executor.submit(wait_for, manager.Event(), never, "never")
        others = [executor.submit(identity, n) for n in range(10)]
        with pytest.raises(TimeoutError, match=r"task_timeout=0\.5 s") as caught:
            stuck.result(WAIT)
        assert isinstance(caught.value, concurrent.futures.TimeoutError)
        assert "wait_for" in str(caught.value)
        assert [f.result(WAIT) for f in others] == list(range(10))
        assert executor.submit(identity, "after").result(WAIT) == "after"
    stats = executor.statistics
    assert (stats.executed, stats.failures) == (13, 1)
    assert stats.runtime >= 0.5


def note_the_start_and_wait(path: str) -> None:
    """Write when the call started (the monotonic clock, which every process shares here),
    then wait for longer than any task_timeout in this module."""
    with open(path, "w") as started:
        started.write(repr(time.monotonic()))
    threading.Event().wait(WAIT)


TIMEOUT_MARGIN = 3.0
"""How long after its task_timeout a call may still be running: room for a loaded machine to
notice and kill it, yet a deadline four times too late (with ``task_timeout=2``) is caught."""


def test_a_call_past_task_timeout_ends_within_a_margin_of_it(
    tmp_path: Any, children_checked: None
) -> None:
    started = tmp_path / "started"
    with make("fork", max_workers=1, task_timeout=2.0) as executor:
        future = executor.submit(note_the_start_and_wait, str(started))
        assert isinstance(future.exception(WAIT), TimeoutError)
        ended = time.monotonic()
    assert ended - float(started.read_text()) < 2.0 + TIMEOUT_MARGIN


# -- pickling and remote tracebacks ------------------------------------------------------------


def delivery_failure(future: concurrent.futures.Future[Any], kind: type[Exception]) -> Any:
    """The future's exception: a DeliveryFailed of ``kind``, caught as the stdlib's errors."""
    exc = future.exception(WAIT)
    assert isinstance(exc, futurist.DeliveryFailed)
    assert isinstance(exc, BrokenProcessPool)
    assert isinstance(exc, kind)
    assert exc.__cause__ is not None
    return exc


def causes(exc: BaseException) -> str:
    """The text of every exception in ``exc``'s ``__cause__`` chain (remote tracebacks too)."""
    texts = []
    cause = exc.__cause__
    while cause is not None:
        texts.append(f"{type(cause).__name__}: {cause}")
        cause = cause.__cause__
    return "\n".join(texts)


def test_an_unpicklable_call_fails_only_its_future() -> None:
    with make("fork", max_workers=1) as executor:
        lock_argument = executor.submit(identity, threading.Lock())
        fine = executor.submit(identity, 5)
        error = delivery_failure(lock_argument, futurist.PicklingFailed)
        assert isinstance(error, pickle.PicklingError)
        assert isinstance(error.__cause__, TypeError)
        assert "cannot pickle '_thread.lock' object" in str(error.__cause__)
        assert "cannot send tests.executors.test_process.identity(<" in str(error)
        assert fine.result(WAIT) == 5
    assert executor.statistics.failures == 1


def test_an_unpicklable_result_or_exception_fails_only_its_future(start_method: str) -> None:
    with make(start_method, max_workers=1) as executor:
        result = executor.submit(return_a_lock)
        raised = executor.submit(raise_unpicklable)
        unloadable = executor.submit(raise_unloadable)
        unloadable_result = executor.submit(return_unloadable)
        fine = executor.submit(identity, 5)
        error = delivery_failure(result, pickle.PicklingError)
        assert "result of tests.executors.test_process.return_a_lock could not" in str(error)
        assert "TypeError: cannot pickle '_thread.lock' object" in causes(error)
        assert "traceback in the worker process" in causes(error)
        error = delivery_failure(raised, futurist.PicklingFailed)
        assert "raised HoldsALock: holds a lock" in str(error)
        assert "HoldsALock: holds a lock" in causes(error)
        error = delivery_failure(unloadable, pickle.UnpicklingError)
        assert "outcome of tests.executors.test_process.raise_unloadable(" in str(error)
        assert isinstance(error.__cause__, TypeError)
        error = delivery_failure(unloadable_result, futurist.UnpicklingFailed)
        assert isinstance(error.__cause__, ValueError)
        assert fine.result(WAIT) == 5
        assert executor.submit(identity, 6).result(WAIT) == 6


def test_a_call_the_worker_cannot_unpickle_fails_only_its_future(start_method: str) -> None:
    with make(start_method, max_workers=1) as executor:
        refused = executor.submit(identity, LoadsWithAnError())
        error = delivery_failure(refused, futurist.UnpicklingFailed)
        assert "could not be unpickled in the worker process" in str(error)
        assert isinstance(error.__cause__, ValueError)
        assert "cannot be rebuilt here" in str(error.__cause__)
        assert executor.submit(identity, 5).result(WAIT) == 5
        ends = executor.submit(identity, LoadsByExiting())
        with pytest.raises(futurist.WorkerCrashed, match="exited with code 5 while running"):
            ends.result(WAIT)
        assert executor.submit(identity, 6).result(WAIT) == 6
    assert executor.statistics.failures == 2


def test_an_exception_keeps_the_traceback_from_the_worker(start_method: str) -> None:
    with make(start_method, max_workers=1) as executor:
        exc = executor.submit(fail_deep, "lost key").exception(WAIT)
    assert isinstance(exc, KeyError)
    remote = str(exc.__cause__)
    assert "traceback in the worker process" in remote
    assert "in fail_deep" in remote
    assert "raise KeyError(message)" in remote


# -- workers' life -----------------------------------------------------------------------------


def test_initializer_runs_in_each_worker(start_method: str) -> None:
    with make(start_method, max_workers=1, initializer=remember, initargs=("ready",)) as pool:
        assert pool.submit(initialized).result(WAIT) == ["ready"]
    assert _initialized == []


def test_a_failing_initializer_breaks_the_pool(children_checked: None) -> None:
    executor = make("fork", max_workers=1, initializer=refuse_to_start)
    future = executor.submit(identity, 1)
    with pytest.raises(concurrent.futures.process.BrokenProcessPool, match="refuse_to_start"):
        future.result(WAIT)
    assert "no database" in str(future.exception())
    with pytest.raises(concurrent.futures.process.BrokenProcessPool):
        executor.submit(identity, 2)
    executor.shutdown()


def test_workers_dying_before_they_take_a_call_break_the_pool_after_three_starts(
    tmp_path: Any, children_checked: None
) -> None:
    starts = tmp_path / "starts"
    executor = make("fork", max_workers=2, initializer=note_start_and_exit, initargs=(starts,))
    futures = [executor.submit(identity, n) for n in range(10)]
    _, not_done = concurrent.futures.wait(futures, timeout=WAIT)
    assert not not_done
    errors = [future.exception() for future in futures]
    assert all(isinstance(error, futurist.WorkerCrashed) for error in errors)
    reason = r"3 worker processes in a row died before taking a call .*note_start_and_exit"
    assert re.search(reason, str(errors[-1]))
    with pytest.raises(futurist.WorkerCrashed, match=reason):
        executor.submit(identity, 10)
    executor.shutdown(wait=True)
    # Three deaths make the pattern clear; the second worker may be starting by then.
    assert len(starts.read_text().split()) <= 4


class _Awaited(logging.Handler):
    """A log handler that sets ``seen`` once a record's message contains ``words``."""

    def __init__(self, words: str) -> None:
        super().__init__()
        self.words = words
        self.seen = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.words in record.getMessage():
            self.seen.set()


def test_an_idle_pool_whose_workers_die_at_start_stops_starting_them(
    tmp_path: Any, children_checked: None
) -> None:
    starts = tmp_path / "starts"
    broken = _Awaited("in a row died before taking a call")
    logger = logging.getLogger("futurist.executors._process_lifecycle")
    logger.addHandler(broken)
    try:
        executor = make("fork", max_workers=2, initializer=note_start_and_exit, initargs=(starts,))
        with pytest.raises(futurist.WorkerCrashed, match="exited with code 7"):
            executor.submit(identity, 1).result(WAIT)
        # Idle, the pool replaces the dead worker until the pattern is clear, then breaks.
        assert broken.seen.wait(WAIT)
    finally:
        logger.removeHandler(broken)
    with pytest.raises(futurist.WorkerCrashed, match="in a row"):
        executor.submit(identity, 2)
    executor.shutdown(wait=True)
    assert len(starts.read_text().split()) == 3


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_max_tasks_per_child_replaces_workers(method: str, children_checked: None) -> None:
    with make(method, max_workers=1, max_tasks_per_child=2) as executor:
        pids = [executor.submit(pid).result(WAIT) for _ in range(6)]
    assert pids[0] == pids[1] != pids[2] == pids[3] != pids[4] == pids[5]
    assert len(set(pids)) == 3


def test_max_tasks_per_child_without_a_context_uses_spawn(children_checked: None) -> None:
    with futurist.ProcessPoolExecutor(1, max_tasks_per_child=1) as executor:
        first, second = (executor.submit(pid).result(WAIT) for _ in range(2))
    assert first != second


def test_map_with_chunksize_sends_batches(start_method: str) -> None:
    with make(start_method, max_workers=2) as executor:
        results = list(executor.map(pow, range(10), range(10), chunksize=3))
    assert results == [n**n for n in range(10)]
    assert executor.statistics.executed == 4


# -- shutdown ----------------------------------------------------------------------------------


def test_an_unused_pool_starts_no_process_and_shuts_down_at_once() -> None:
    before = set(multiprocessing.active_children())
    executor = make("spawn")
    executor.shutdown()
    executor.shutdown()
    assert set(multiprocessing.active_children()) == before
    with pytest.raises(RuntimeError, match="shut down"):
        executor.submit(identity, 1)


def test_shutdown_without_wait_then_with_wait_finishes_everything(
    start_method: str, manager: Any, children_checked: None
) -> None:
    executor = make(start_method, max_workers=2)
    started, release = manager.Event(), manager.Event()
    blocker = executor.submit(wait_for, started, release, "blocker")
    queued = [executor.submit(identity, n) for n in range(10)]
    assert started.wait(WAIT)
    executor.shutdown(wait=False)
    assert not executor.alive
    release.set()
    executor.shutdown(wait=True)
    assert blocker.done()
    assert all(f.done() for f in queued)
    assert [f.result() for f in queued] == list(range(10))


def test_cancel_futures_cancels_what_was_not_sent(manager: Any, children_checked: None) -> None:
    executor = make("fork", max_workers=1)
    started, release = manager.Event(), manager.Event()
    blocker = executor.submit(wait_for, started, release, "blocker")
    assert started.wait(WAIT)
    queued = [executor.submit(identity, n) for n in range(5)]
    executor.shutdown(wait=False, cancel_futures=True)
    assert all(f.cancelled() for f in queued)
    release.set()
    executor.shutdown(wait=True)
    assert blocker.result() == "blocker"
    assert executor.statistics.cancelled == 5


@pytest.mark.parametrize(("method", "rounds"), [("fork", 60), ("forkserver", 12), ("spawn", 6)])
def test_cancelling_shutdown_with_queued_calls_never_breaks_the_pool(
    method: str, rounds: int, children_checked: None
) -> None:
    # The manager may be about to take a queued call (starting a worker for it) while
    # shutdown's cancel_futures empties the queue: it must find the queue empty, not fail.
    for _ in range(rounds):
        executor = make(method, max_workers=4)
        futures = [executor.submit(identity, n) for n in range(40)]
        executor.shutdown(wait=True, cancel_futures=True)
        for n, future in enumerate(futures):
            assert future.cancelled() or future.result() == n
        stats = executor.statistics
        assert (stats.failures, stats.executed + stats.cancelled) == (0, 40)


def test_workers_ignore_sigint_and_finish_their_call(
    start_method: str, manager: Any, children_checked: None
) -> None:
    with make(start_method, max_workers=1) as executor:
        worker = executor.submit(pid).result(WAIT)
        started, release = manager.Event(), manager.Event()
        running = executor.submit(wait_for, started, release, "finished")
        assert started.wait(WAIT)
        os.kill(worker, signal.SIGINT)
        release.set()
        assert running.result(WAIT) == "finished"
        assert executor.submit(pid).result(WAIT) == worker


class _PausingDeque(collections.deque[Any]):
    """A queue whose next append, once armed, waits in the middle of ``submit``."""

    def __init__(self) -> None:
        super().__init__()
        self.armed = False
        self.inside = threading.Event()
        self.go = threading.Event()

    def append(self, item: Any) -> None:
        if self.armed:
            self.armed = False
            self.inside.set()
            assert self.go.wait(WAIT)
        super().append(item)


class _WatchedLock:
    """A lock that reports when a thread has to wait for it."""

    def __init__(self, waited: threading.Event) -> None:
        self._lock = threading.Lock()
        self._waited = waited

    def __enter__(self) -> None:
        if not self._lock.acquire(blocking=False):
            self._waited.set()
            self._lock.acquire()

    def __exit__(
        self, *exc_info: type[BaseException] | BaseException | TracebackType | None
    ) -> None:
        self._lock.release()


def test_a_pool_breaking_during_a_submit_fails_that_call_too(
    manager: Any, children_checked: None
) -> None:
    told = manager.Event()
    executor = make("fork", max_workers=1, initializer=refuse_when_told, initargs=(told,))
    pool = executor._pool
    queue = _PausingDeque()
    progressed = threading.Event()
    with (
        mock.patch.object(pool, "pending", queue),
        mock.patch.object(pool, "_lock", _WatchedLock(progressed)),
    ):
        first = executor.submit(identity, 1)
        queued = executor.submit(identity, 2)
        queued.add_done_callback(lambda _: progressed.set())
        queue.armed = True
        late: list[concurrent.futures.Future[Any]] = []
        submitter = threading.Thread(target=lambda: late.append(executor.submit(identity, 3)))
        submitter.start()
        assert queue.inside.wait(WAIT)
        # The submit has found the pool whole and is about to queue its call: break it now.
        told.set()
        # Wait until the break has either drained the queue or waits for the submit to end.
        assert progressed.wait(WAIT)
        queue.go.set()
        submitter.join(WAIT)
        _, not_done = concurrent.futures.wait([first, queued, *late], timeout=WAIT)
    assert not not_done
    assert len(late) == 1
    for future in (first, queued, *late):
        with pytest.raises(BrokenProcessPool, match="refuse_when_told"):
            future.result()
    with pytest.raises(BrokenProcessPool):
        executor.submit(identity, 4)
    executor.shutdown(wait=True)
    assert executor.statistics.executed == 3


def test_a_big_call_to_a_worker_still_starting_stalls_no_other_call(
    manager: Any, children_checked: None
) -> None:
    token, holding, release = manager.Queue(), manager.Event(), manager.Event()
    token.put("wait")
    payload = b"x" * (32 << 20)
    with make(
        "fork", max_workers=2, initializer=first_worker_waits, initargs=(token, holding, release)
    ) as executor:
        big = executor.submit(len, payload)
        assert holding.wait(WAIT)
        # The first worker waits in its initializer with a call far bigger than its pipe.
        assert [executor.submit(identity, n).result(WAIT) for n in range(5)] == list(range(5))
        assert not big.done()
        release.set()
        assert big.result(WAIT) == len(payload)


def test_shutdown_from_a_done_callback_does_not_deadlock(children_checked: None) -> None:
    executor = make("fork", max_workers=1)
    called = threading.Event()

    def stop(_: concurrent.futures.Future[Any]) -> None:
        executor.shutdown(wait=True)
        called.set()

    executor.submit(identity, 1).add_done_callback(stop)
    assert called.wait(WAIT)
    executor.shutdown(wait=True)


def test_a_forked_worker_cannot_submit_to_its_copy_of_the_pool(children_checked: None) -> None:
    executor = make("fork", max_workers=1)
    _pool_seen_by_children.append(executor)
    try:
        message = executor.submit(submit_to_own_pool).result(WAIT)
        executor.shutdown()
    finally:
        _pool_seen_by_children.clear()
    assert "only the process that created the pool can" in message


# -- stopping calls ----------------------------------------------------------------------------


def test_stop_ends_only_its_worker_and_a_fresh_one_takes_the_next_call(
    manager: Any, children_checked: None
) -> None:
    # The contract suite stops calls on spawned workers too; forking keeps this one quick.
    pids, release = manager.Queue(), manager.Event()
    with make("fork", max_workers=2) as executor:
        stopped = executor.submit(hold, pids, release)
        stopped_pid = pids.get(timeout=WAIT)
        survivor = executor.submit(hold, pids, release)
        survivor_pid = pids.get(timeout=WAIT)
        executor.stop(stopped)
        with pytest.raises(futurist.WorkerStopped, match=r"signal SIGTERM \(15\)") as caught:
            stopped.result(WAIT)
        assert isinstance(caught.value, futurist.CallStopped)
        assert isinstance(caught.value, BrokenProcessPool)
        assert "hold was stopped while it ran: stop() or drain() ended it" in str(caught.value)
        assert "a new worker replaces it" in str(caught.value)
        # The survivor still holds the other worker: only a fresh one can run this call.
        assert executor.submit(pid).result(WAIT) not in {stopped_pid, survivor_pid}
        assert not survivor.done()
        release.set()
        assert survivor.result(WAIT) == survivor_pid
    stats = executor.statistics
    assert (stats.executed, stats.failures, stats.cancelled) == (3, 1, 0)


def test_stop_kills_a_call_that_ignores_sigterm(manager: Any, children_checked: None) -> None:
    pids, release = manager.Queue(), manager.Event()
    with (
        mock.patch.object(_process_deadlines, "KILL_AFTER", 0.1),
        make("fork", max_workers=1) as executor,
    ):
        held = executor.submit(hold_ignoring_sigterm, pids, release)
        pids.get(timeout=WAIT)
        executor.stop(held)
        with pytest.raises(futurist.WorkerStopped, match=r"signal SIGKILL \(9\)"):
            held.result(WAIT)
        assert executor.submit(identity, "next").result(WAIT) == "next"


def test_a_stopped_call_that_outlives_task_timeout_fails_once_as_stopped(
    manager: Any, children_checked: None
) -> None:
    pids, never = manager.Queue(), manager.Event()
    # Wide enough that stop() comes well inside the timeout even on a loaded machine; the
    # skip below is only the guard for a machine slower than that, never seen so far.
    timeout = 1.5
    with (
        mock.patch.object(_process_deadlines, "KILL_AFTER", 2 * timeout),
        make("fork", max_workers=1, task_timeout=timeout) as executor,
    ):
        assert executor.submit(identity, "warm").result(WAIT) == "warm"
        submitted = time.monotonic()
        held = executor.submit(hold_ignoring_sigterm, pids, never)
        pids.get(timeout=WAIT)
        executor.stop(held)
        if time.monotonic() - submitted >= timeout:
            pytest.skip("the machine was too slow to stop the call within its task_timeout")
        # Ignoring SIGTERM, the call outlives its task_timeout before SIGKILL ends it.
        with pytest.raises(futurist.WorkerStopped, match="SIGKILL"):
            held.result(WAIT)
    stats = executor.statistics
    assert (stats.executed, stats.failures) == (2, 1)


def test_stop_racing_with_the_end_of_each_call_gives_it_exactly_one_outcome(
    children_checked: None,
) -> None:
    endings: collections.Counter[int] = collections.Counter()
    with make("fork", max_workers=2) as executor:
        futures = [executor.submit(identity, n) for n in range(24)]
        for future in futures:
            future.add_done_callback(lambda done: endings.update([id(done)]))
            try:
                executor.stop(future)
            except ValueError as refusal:
                assert "already done" in str(refusal)
        stopped = 0
        for number, future in enumerate(futures):
            if future.cancelled():
                continue
            error = future.exception(WAIT)
            if error is None:
                assert future.result() == number
            else:
                assert isinstance(error, futurist.WorkerStopped)
                stopped += 1
        assert executor.submit(identity, "after").result(WAIT) == "after"
    assert sorted(endings.values()) == [1] * 24
    stats = executor.statistics
    assert stats.executed + stats.cancelled == 25
    assert stats.failures == stopped


def test_stop_cancels_queued_prioritized_calls(manager: Any, children_checked: None) -> None:
    started, release = manager.Event(), manager.Event()
    order: list[str] = []
    with make("fork", max_workers=1) as executor:
        executor.submit(wait_for, started, release, "blocker")
        assert started.wait(WAIT)
        low = executor.prioritized(-1).submit(identity, "low")
        high = executor.prioritized(5).submit(identity, "high")
        kept = [
            executor.submit(identity, "plain"),
            executor.prioritized(5).submit(identity, "high too"),
        ]
        for future in kept:
            future.add_done_callback(lambda done: order.append(done.result()))
        executor.stop(high)
        executor.stop(low)
        assert high.cancelled() and low.cancelled()
        release.set()
        for future in kept:
            future.result(WAIT)
    assert order == ["high too", "plain"]
    assert executor.statistics.cancelled == 2


@pytest.mark.parametrize(
    ("method", "signal_name"), [("terminate_workers", "SIGTERM"), ("kill_workers", "SIGKILL")]
)
def test_terminate_and_kill_workers_end_every_worker_as_python_3_14_does(
    manager: Any, children_checked: None, method: str, signal_name: str
) -> None:
    pids, release = manager.Queue(), manager.Event()
    executor = make("fork", max_workers=2)
    running = [executor.submit(hold, pids, release) for _ in range(2)]
    for _ in running:
        pids.get(timeout=WAIT)
    queued = executor.submit(identity, "queued")
    getattr(executor, method)()
    assert queued.cancelled()
    assert not executor.alive
    for future in running:
        error = future.exception(WAIT)
        # What the standard library's pool fails them with, and what a stop fails them with.
        assert isinstance(error, BrokenProcessPool)
        assert isinstance(error, futurist.CallStopped)
        assert f"{method}() ended every worker" in str(error)
        assert f"signal {signal_name}" in str(error)
    with pytest.raises(RuntimeError, match="cannot schedule new futures after shutdown"):
        executor.submit(identity, 1)
    executor.shutdown(wait=True)
    stats = executor.statistics
    assert (stats.failures, stats.cancelled) == (2, 1)


def test_a_done_callback_submitting_to_its_full_pool_is_refused_at_once(
    manager: Any, children_checked: None
) -> None:
    started, release = manager.Event(), manager.Event()
    refusals: list[BaseException] = []
    called = threading.Event()
    policy = rejection.wait_when_reached(1, timeout=WAIT)
    with make("fork", max_workers=1, check_and_reject=policy) as executor:

        def submit_more(_: concurrent.futures.Future[Any]) -> None:
            # Runs on the manager thread, the only one that makes room: waiting would hang.
            try:
                executor.submit(identity, "more")
            except futurist.RejectedSubmission as refusal:
                refusals.append(refusal)
            finally:
                called.set()

        blocker = executor.submit(wait_for, started, release, "blocker")
        assert started.wait(WAIT)
        queued = executor.submit(identity, "queued")
        blocker.add_done_callback(submit_more)
        release.set()
        assert called.wait(WAIT)
        assert queued.result(WAIT) == "queued"
    assert len(refusals) == 1
    assert "its own workers" in str(refusals[0])


# -- configuration -----------------------------------------------------------------------------


def test_config_options_name_the_constructor_arguments() -> None:
    options = {opt.dest: opt for opt in futurist.ProcessPoolExecutor.config_options()}
    assert set(options) == {"start_method", "max_tasks_per_child", "task_timeout"}
    assert all(opt.default is None for opt in options.values())


def test_from_options_turns_start_method_into_a_context(children_checked: None) -> None:
    executor = futurist.ProcessPoolExecutor.from_options(
        max_workers=1,
        check_and_reject=None,
        start_method="spawn",
        max_tasks_per_child=1,
        task_timeout=10.0,
    )
    with executor:
        assert executor.submit(identity, "configured").result(WAIT) == "configured"
    with pytest.raises(
        ValueError, match="incompatible with the 'fork' multiprocessing start method"
    ):
        futurist.ProcessPoolExecutor.from_options(start_method="fork", max_tasks_per_child=1)
