"""Fault injection: make one internal step of futurist fail at a chosen moment, then check.

The only place in the suite that mocks: :func:`failing` patches one method so that its next
``times`` calls raise, and everything else stays real. The checks are shared by every kind:
each submission under a fault either raised (and its call never ran) or returned a future that
ends exactly once (:class:`Submissions`); every accepted future is terminal within a bounded
wait (:func:`assert_all_terminal`); no thread, file descriptor or child process outlives
``shutdown()`` (:func:`resources`, :func:`assert_nothing_outlives`), and a child process a
test leaves is ended, failed test or not (:func:`outliving_children`).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import gc
import itertools
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from typing import Any
from unittest import mock

import futurist.waiters
from futurist.statistics import StatisticsRecorder

__all__ = [
    "WAIT",
    "Fault",
    "ObservedLock",
    "Resources",
    "Submissions",
    "assert_all_terminal",
    "assert_nothing_outlives",
    "end_children",
    "failing",
    "failing_initializer",
    "green_spawn_fails",
    "outliving_children",
    "raising_done_callback",
    "rejecting_with",
    "resources",
    "run_count_fails",
    "shutdown_within",
    "start_count_fails",
    "statistics_update_fails",
    "thread_start_fails",
]

WAIT = 30.0
"""Upper bound for every wait here; reaching it means a bug, not a slow machine."""


class Fault:
    """How many times an armed fault has fired so far."""

    def __init__(self, times: int) -> None:
        self.times = times
        self.fired = 0
        self._lock = threading.Lock()

    def fire(self) -> bool:
        """Whether this call is one that fails (the first ``times`` that match)."""
        with self._lock:
            if self.fired < self.times:
                self.fired += 1
                return True
            return False


@contextlib.contextmanager
def failing(
    owner: object,
    name: str,
    error: Callable[[], BaseException],
    *,
    times: int | Fault = 1,
    when: Callable[..., bool] = lambda *args, **kwargs: True,
) -> Iterator[Fault]:
    """Within the block, the next ``times`` calls of ``owner.name`` matching ``when`` raise.

    ``error()`` makes each exception; ``when`` sees the call's arguments (``self`` first for a
    method patched on a class). Other calls run the real method. ``times`` may be a
    :class:`Fault` shared by several patches: its ``times`` calls fail among them all.
    """
    original = getattr(owner, name)
    fault = times if isinstance(times, Fault) else Fault(times)

    def maybe_fail(*args: Any, **kwargs: Any) -> Any:
        if when(*args, **kwargs) and fault.fire():
            raise error()
        return original(*args, **kwargs)

    with mock.patch.object(owner, name, autospec=True, side_effect=maybe_fail):
        yield fault


def _started_by_futurist(thread: threading.Thread) -> bool:
    target = getattr(thread, "_target", None)
    return getattr(target, "__module__", "").startswith("futurist.")


def thread_start_fails(times: int = 1) -> contextlib.AbstractContextManager[Fault]:
    """The next ``times`` threads futurist starts fail as when the OS has no thread left."""
    return failing(
        threading.Thread,
        "start",
        lambda: RuntimeError("can't start new thread"),
        times=times,
        when=_started_by_futurist,
    )


def green_spawn_fails(times: int = 1) -> contextlib.AbstractContextManager[Fault]:
    """The next ``times`` green threads an eventlet ``GreenPool`` spawns fail to start."""
    from eventlet.greenpool import GreenPool

    return failing(
        GreenPool, "spawn_n", lambda: RuntimeError("can't spawn a green thread"), times=times
    )


def statistics_update_fails(
    method: str, times: int = 1
) -> contextlib.AbstractContextManager[Fault]:
    """The next ``times`` calls of ``StatisticsRecorder.<method>`` (any executor's) raise."""
    return failing(
        StatisticsRecorder, method, lambda: RuntimeError(f"{method} failed"), times=times
    )


def start_count_fails(executor: Any, times: int = 1) -> contextlib.AbstractContextManager[Fault]:
    """The next ``times`` counts of a call starting in ``executor``'s statistics raise.

    A recorder counts starts through its own ``record_start`` attribute (the hot path calls it
    directly), not a method of its class: the fault is set on this executor's recorder.
    """
    return failing(
        executor.recorder, "record_start", lambda: RuntimeError("record_start failed"), times=times
    )


@contextlib.contextmanager
def run_count_fails(executor: Any, times: int = 1) -> Iterator[Fault]:
    """The next ``times`` counts of a call's run in ``executor``'s statistics raise.

    A call that ran without raising is counted through the recorder's own ``record_success``
    attribute (the hot path appends directly), any other run through ``record_run``: both
    are patched, sharing one fault.
    """
    fault = Fault(times)
    error = functools.partial(RuntimeError, "record_run failed")
    with (
        failing(executor.recorder, "record_success", error, times=fault),
        failing(StatisticsRecorder, "record_run", error, times=fault),
    ):
        yield fault


def rejecting_with(
    error: Callable[[], BaseException], times: int = 1
) -> Callable[[Any, int], None]:
    """A ``check_and_reject`` raising ``error()`` (not ``RejectedSubmission``) ``times`` times."""
    fault = Fault(times)

    def check_and_reject(executor: Any, backlog: int) -> None:
        if fault.fire():
            raise error()

    return check_and_reject


def failing_initializer() -> None:
    """A worker initializer that fails, breaking the pool that runs it."""
    raise RuntimeError("initializer failed")


def raising_done_callback(future: concurrent.futures.Future[Any]) -> None:
    """A done callback that raises (the executor must log it and carry on)."""
    raise RuntimeError("done callback failed")


class ObservedLock:
    """A lock that calls ``on_contended()`` each time a thread has to wait for it.

    A test holding it learns that another thread has reached the point where it must wait.
    """

    def __init__(self, on_contended: Callable[[], object]) -> None:
        self._lock = threading.Lock()
        self._on_contended = on_contended

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        if self._lock.acquire(blocking=False):
            return True
        if not blocking:
            return False
        self._on_contended()
        return self._lock.acquire(timeout=timeout)

    def release(self) -> None:
        self._lock.release()

    def locked(self) -> bool:
        return self._lock.locked()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def assert_all_terminal(
    futures: Iterable[concurrent.futures.Future[Any]], timeout: float = WAIT
) -> None:
    """Every future ends within ``timeout``: a result, an exception or cancelled.

    Green futures are waited for greenly (a native wait would block the eventlet hub); native
    ones with ``concurrent.futures.wait``.
    """
    pending = list(futures)
    _, not_done = futurist.waiters.wait_for_all(pending, timeout)
    assert not not_done, f"{len(not_done)} of {len(pending)} accepted futures never ended"


class Submissions:
    """Submissions made under a fault: each raised (its call never ran) or returned a future.

    ``call`` is the task submitted: it records its number. :meth:`check` asserts the rule for
    faults at submit time -- raise with nothing run, or a future that ends; never both, never
    neither -- and returns the accepted futures.
    """

    def __init__(self) -> None:
        self.raised: dict[int, BaseException] = {}
        self.accepted: dict[int, concurrent.futures.Future[Any]] = {}
        self.ran: list[int] = []
        self.ended: dict[int, int] = {}
        self._lock = threading.Lock()
        self._numbers = itertools.count()

    def call(self, number: int) -> int:
        with self._lock:
            self.ran.append(number)
        return number

    def submit(self, submit: Callable[..., concurrent.futures.Future[Any]], *args: Any) -> None:
        """``submit(*args, self.call, n)`` for the next number ``n``, keeping what it did."""
        number = next(self._numbers)
        try:
            future = submit(*args, self.call, number)
        except Exception as exc:
            self.raised[number] = exc
            return
        self.accepted[number] = future
        future.add_done_callback(functools.partial(self._end, number))

    def _end(self, number: int, future: concurrent.futures.Future[Any]) -> None:
        with self._lock:
            self.ended[number] = self.ended.get(number, 0) + 1

    def check(self, timeout: float = WAIT) -> list[concurrent.futures.Future[Any]]:
        """Assert the rule (see the class) and return the accepted futures."""
        futures = list(self.accepted.values())
        assert_all_terminal(futures, timeout)
        with self._lock:
            ran = list(self.ran)
            ended = dict(self.ended)
        assert ended == dict.fromkeys(self.accepted, 1), "a future did not end exactly once"
        assert not set(self.raised) & set(ran), "a call ran although its submit raised"
        assert len(ran) == len(set(ran)), "a call ran twice"
        for number, future in self.accepted.items():
            if not future.cancelled() and future.exception() is None:
                assert future.result() == number
                assert number in ran
        return futures


def shutdown_within(
    executor: concurrent.futures.Executor, green: bool, timeout: float = WAIT
) -> None:
    """``executor.shutdown(wait=True)``, failing the test if it has not returned in ``timeout``.

    A green executor is shut down in the hub's thread under an eventlet timeout; any other in
    a helper thread, so a shutdown that hangs fails the test instead of hanging the suite.
    """
    if green:
        import eventlet

        with eventlet.Timeout(timeout):
            executor.shutdown(wait=True)
        return
    errors: list[BaseException] = []

    def shut_down() -> None:
        try:
            executor.shutdown(wait=True)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=shut_down, name="shutdown_within", daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), f"shutdown(wait=True) of {executor!r} did not return"
    assert errors == [], f"shutdown(wait=True) raised {errors[0]!r}"


@dataclass(frozen=True)
class Resources:
    """The threads, file descriptors and child processes of this process at one moment."""

    threads: frozenset[threading.Thread]
    fds: frozenset[str]
    children: frozenset[Any]


def resources() -> Resources:
    """What this process holds now; take it before building the executor under test."""
    return Resources(
        frozenset(threading.enumerate()),
        frozenset(os.listdir("/proc/self/fd")),
        frozenset(multiprocessing.active_children()),
    )


def settled_fds(
    before: frozenset[str], timeout: float = 5.0, *, network: bool = False
) -> dict[str, str]:
    """The fds opened since ``before`` that are still open once the process settles, each with
    what it is (the target of its ``/proc/self/fd`` link).

    Other machinery of the test process (the garbage collector closing what an earlier test
    dropped, Dask's monitor reading ``/proc``) opens and closes fds at its own pace, so new ones
    get a bounded wait, with collections, to close before they count as leaked. Network (TCP
    and UDP) sockets are left out unless ``network``: futurist's own pipes and socketpairs are
    files and unix sockets, while a shared Dask cluster in this process accepts and drops
    connections from its worker processes whenever they ask.
    """
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while True:
        gc.collect()
        ignored = set() if network else _network_sockets()
        left = {
            fd: target
            for fd in set(os.listdir("/proc/self/fd")) - before
            if (target := _target(fd)) is not None and target not in ignored
        }
        if not left or time.monotonic() >= deadline:
            return left
        pause.wait(0.05)


def _network_sockets() -> set[str]:
    """The ``socket:[inode]`` link targets of this process's TCP and UDP sockets."""
    found: set[str] = set()
    for table in ("tcp", "tcp6", "udp", "udp6"):
        try:
            with open(f"/proc/self/net/{table}") as rows:
                next(rows)  # the header
                found.update(f"socket:[{row.split()[9]}]" for row in rows)
        except OSError:
            continue
    return found


def _target(fd: str) -> str | None:
    """What ``fd`` is open on; None once it is closed."""
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return None


def end_children(children: Iterable[BaseProcess]) -> None:
    """Kill and reap ``children``: a test must not leave a process behind, even when it fails.

    A child left running keeps whatever joins it waiting (a pool's manager thread, the
    interpreter's exit), so a failed run would hang long after its tests stopped.
    """
    for child in children:
        with contextlib.suppress(OSError, ValueError):  # already reaped, or closed
            child.kill()
            child.join(WAIT)


def outliving_children(before: Iterable[BaseProcess]) -> set[BaseProcess]:
    """The child processes started since ``before`` that still run, once ended (see
    :func:`end_children`): assert the result is empty."""
    left = set(multiprocessing.active_children()) - set(before)
    end_children(left)
    return left


def assert_nothing_outlives(before: Resources, timeout: float = WAIT) -> None:
    """No thread, fd or child process started since ``before`` is left (call after shutdown).

    A thread already on its way out (past its last statement) gets ``timeout`` to finish.
    Child processes left are ended, so that nothing waiting for them stays stuck.
    """
    for thread in set(threading.enumerate()) - before.threads:
        thread.join(timeout)
    children = outliving_children(before.children)
    after = resources()
    threads = [thread for thread in after.threads - before.threads if thread.is_alive()]
    assert threads == [], f"threads outlived shutdown: {threads}"
    left = settled_fds(before.fds)
    assert not left, f"fds outlived shutdown: {left}"
    assert not children, f"child processes outlived shutdown: {children}"
