"""Test support for futurist.periodics: virtual time and the executor flavours to run under.

``Simulation`` is a discrete-event clock. A worker built with ``now_func=sim.clock`` and
``cond_cls=sim.condition`` runs in the test's own thread: every timed wait of the worker jumps
the clock to the earlier of its deadline and the next simulated event (a run finishing on a
``SimExecutor``, an action the test scheduled with ``sim.at``). Schedules are therefore exact
and nothing sleeps. Times are binary fractions (0.25, 0.5, ...) so the arithmetic is exact.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import heapq
import itertools
import math
import threading
import warnings
from collections import deque
from collections.abc import Callable
from typing import Any, NamedTuple

import futurist
import futurist.futures
from futurist import RejectedSubmission

__all__ = [
    "CONCURRENT_FLAVORS",
    "FLAVORS",
    "FailureLog",
    "FailureReport",
    "Flavor",
    "SimCondition",
    "SimExecutor",
    "Simulation",
]


class FailureReport(NamedTuple):
    """What one ``on_failure`` call was given."""

    callback: Callable[..., Any]
    kind: str
    spacing: float
    exc_info: Any
    traceback: str | None


class FailureLog:
    """An ``on_failure`` callback that keeps each report, then calls ``then``."""

    def __init__(self) -> None:
        self.reports: list[FailureReport] = []
        self.then: Callable[[], object] | None = None
        self._reported = threading.Condition()

    @property
    def exceptions(self) -> list[BaseException]:
        """The exception of each report, in order."""
        return [report.exc_info[1] for report in self.reports]

    def __call__(
        self,
        callback: Callable[..., Any],
        kind: str,
        spacing: float,
        exc_info: Any,
        traceback: str | None = None,
    ) -> None:
        with self._reported:
            self.reports.append(FailureReport(callback, kind, spacing, exc_info, traceback))
            self._reported.notify_all()
        if self.then is not None:
            self.then()

    def wait_for(self, count: int, timeout: float) -> bool:
        """Wait until at least ``count`` failures were reported; False if ``timeout`` ran out."""
        with self._reported:
            return self._reported.wait_for(lambda: len(self.reports) >= count, timeout)


class Simulation:
    """Virtual time and the events due at virtual times."""

    def __init__(self, start: float = 100.0, wall_start: float = 0.0) -> None:
        self.now = start
        self.wall_offset = wall_start - start
        """The wall clock (``wall``) less the monotonic one (``clock``); a test may jump it."""
        self.waits = 0
        self._events: list[tuple[float, int, Callable[[], object]]] = []
        self._seq = itertools.count()

    def clock(self) -> float:
        """The worker's ``now_func``."""
        return self.now

    def wall(self) -> float:
        """The worker's ``wall_func``: a wall clock that moves with ``clock`` unless jumped."""
        return self.now + self.wall_offset

    def condition(self) -> SimCondition:
        """The worker's ``cond_cls``."""
        return SimCondition(self)

    def at(self, when: float, action: Callable[[], object]) -> None:
        """Run ``action`` when virtual time reaches ``when``."""
        heapq.heappush(self._events, (when, next(self._seq), action))

    def advance(self, seconds: float) -> None:
        """Let time pass inside a callback run by a synchronous executor."""
        self.now += seconds

    def step(self, timeout: float | None) -> bool:
        """Pass time until the next event (run it; True) or until ``timeout`` ends (False)."""
        self.waits += 1
        limit = math.inf if timeout is None else self.now + timeout
        if self._events and self._events[0][0] <= limit:
            when, _, action = heapq.heappop(self._events)
            self.now = max(self.now, when)
            action()
            return True
        if timeout is None:
            raise AssertionError("the worker would wait forever: no simulated event is left")
        self.now = limit
        return False


class SimCondition(threading.Condition):
    """A condition whose waits pass virtual time instead of blocking."""

    def __init__(self, sim: Simulation) -> None:
        super().__init__()
        self._sim = sim

    def wait(self, timeout: float | None = None) -> bool:
        """Pass virtual time (see :meth:`Simulation.step`)."""
        return self._sim.step(timeout)


class SimExecutor(concurrent.futures.Executor):
    """Runs each call at once, like a synchronous executor, unless ``plan`` says otherwise.

    ``plan`` lists what to do with the next submissions: "run", "reject" (RejectedSubmission),
    "shutdown" (RuntimeError from submit), "cancel" (a cancelled future), "break" (a failed
    future, as from a broken pool), "skip" (a future completed without running the call).
    ``submissions`` counts the calls to ``submit``.
    """

    def __init__(self) -> None:
        self.plan: deque[str] = deque()
        self.submissions = 0
        self.shutdown_calls = 0

    def submit(
        self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any
    ) -> concurrent.futures.Future[Any]:
        """Run the call now, or do what the plan says."""
        self.submissions += 1
        action = self.plan.popleft() if self.plan else "run"
        if action == "reject":
            raise RejectedSubmission("the simulated executor rejected the call")
        if action == "shutdown":
            raise RuntimeError("cannot schedule new futures after shutdown")
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        if action == "cancel":
            future.cancel()
        elif action == "break":
            future.set_exception(concurrent.futures.BrokenExecutor("the pool broke"))
        elif action == "skip":
            future.set_result(None)
        else:
            future.set_running_or_notify_cancel()
            future.set_result(fn(*args, **kwargs))
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Count the call (the worker must shut down only executors it owns)."""
        self.shutdown_calls += 1


@dataclasses.dataclass(frozen=True)
class Flavor:
    """One way to run a worker for real: its executor, primitives and how to run ``start``."""

    name: str
    executor_factory: Callable[[], concurrent.futures.Executor] | None
    cond_cls: Callable[[], Any]
    event_cls: Callable[[], Any]
    spawn: Callable[[Callable[[], object]], Callable[[], None]]


def _spawn_thread(fn: Callable[[], object]) -> Callable[[], None]:
    thread = threading.Thread(target=fn, daemon=True)
    thread.start()

    def join() -> None:
        thread.join(30)
        assert not thread.is_alive(), "start() did not return"

    return join


def _spawn_green(fn: Callable[[], object]) -> Callable[[], None]:
    import eventlet

    green = eventlet.spawn(fn)

    def join() -> None:
        with eventlet.Timeout(30):
            green.wait()

    return join


def _green_flavors() -> list[Any]:
    import pytest

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from eventlet.green import threading as green_threading
    primitives = Flavor(
        "green-primitives",
        futurist.SynchronousExecutor,
        green_threading.Condition,
        green_threading.Event,
        _spawn_green,
    )
    pool = Flavor(
        "green",
        lambda: futurist.GreenThreadPoolExecutor(max_workers=4),
        green_threading.Condition,
        green_threading.Event,
        _spawn_green,
    )
    synchronous = Flavor(
        "green-synchronous",
        lambda: futurist.SynchronousExecutor(green=True),
        green_threading.Condition,
        green_threading.Event,
        _spawn_green,
    )
    return [pytest.param(flavor, id=flavor.name) for flavor in (primitives, pool, synchronous)]


def _native_flavors() -> list[Any]:
    import pytest

    return [
        pytest.param(
            Flavor("default", None, threading.Condition, threading.Event, _spawn_thread),
            id="default",
        ),
        pytest.param(
            Flavor(
                "synchronous",
                futurist.SynchronousExecutor,
                threading.Condition,
                threading.Event,
                _spawn_thread,
            ),
            id="synchronous",
        ),
        pytest.param(
            Flavor(
                "thread",
                lambda: futurist.ThreadPoolExecutor(max_workers=4),
                threading.Condition,
                threading.Event,
                _spawn_thread,
            ),
            id="thread",
        ),
        pytest.param(
            Flavor(
                "thread_dynamic",
                lambda: futurist.DynamicThreadPoolExecutor(max_workers=4),
                threading.Condition,
                threading.Event,
                _spawn_thread,
            ),
            id="thread_dynamic",
        ),
    ]


FLAVORS = _native_flavors() + _green_flavors()
"""Every flavour, as pytest params: native threads, then eventlet's green ones."""

CONCURRENT_FLAVORS = [param for param in FLAVORS if param.id in {"thread", "green"}]
"""The flavours whose executor runs several callbacks at once."""
