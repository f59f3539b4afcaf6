"""The process pool against hostile calls: what a call returns or raises, leaves running, and
what the caller passes.

Whatever a call returns or raises -- an object whose ``__reduce__`` raises any exception, whose
``str()`` or ``repr()`` raises, nested too deep to pickle, or megabytes big -- its worker answers
and goes on serving, and the future ends with the outcome, the ``BaseException`` pickling raised
(as in the standard library), or :class:`futurist.PicklingFailed` whose cause is the pickling
error. A thread a finished call leaves running holds neither shutdown nor the interpreter's
exit. A call the parent cannot pickle, name or describe fails alone and breaks nothing.
"""

from __future__ import annotations

import errno
import os
import pickle
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import futurist
from tests.executors.test_process import causes, make
from tests.faults import shutdown_within

WAIT = 30.0
"""Upper bound for any wait here; reaching it means a bug, not a slow machine."""

TOO_DEEP = 100_000
"""Lists nested this deep cannot be pickled (``RecursionError``)."""


class AbortedOnPurpose(BaseException):
    """A ``BaseException`` of a program's own, outside the ``Exception`` tree."""


class DriverError(Exception):
    """A database driver's error: it holds its closed socket, and its message asks that socket
    for its peer, so it can neither be pickled nor turned into a string."""

    def __init__(self) -> None:
        super().__init__()
        self.sock = socket.socket()
        self.sock.close()

    def __str__(self) -> str:
        return f"lost the connection to {self.sock.getpeername()}"


ERRORS: dict[str, Callable[[], BaseException]] = {
    "TypeError": lambda: TypeError("refused to pickle"),
    "PicklingError": lambda: pickle.PicklingError("refused to pickle"),
    "RecursionError": lambda: RecursionError("too deep"),
    "MemoryError": MemoryError,
    "DriverError": DriverError,
    "SystemExit": lambda: SystemExit(3),
    "KeyboardInterrupt": KeyboardInterrupt,
    "GeneratorExit": GeneratorExit,
    "AbortedOnPurpose": AbortedOnPurpose,
}
"""What a hostile object's ``__reduce__`` raises, by name (a name crosses to the worker)."""


@dataclass(frozen=True)
class Spec:
    """How a :class:`Hostile` misbehaves, and whether the call returns or raises it.

    ``reduce_raises`` and ``repr_raises`` name an entry of ``ERRORS``; ``repr_raises`` applies
    to the call (a :class:`Producer`) as well.
    """

    raised: bool
    reduce_raises: str | None
    str_raises: bool
    repr_raises: str | None
    notes_raise: bool
    depth: int
    ballast: int


class RaisingNotes(list[str]):
    """Exception notes that raise when a traceback is formatted (and pickle fine)."""

    def __iter__(self) -> Iterator[str]:
        raise OSError(errno.ENOTCONN, "not connected")

    def __reduce__(self) -> tuple[Any, ...]:
        return (RaisingNotes, ())


class Hostile(Exception):
    """An object a call returns or raises, misbehaving as its :class:`Spec` says."""

    def __init__(self, spec: Spec) -> None:
        super().__init__("hostile")
        self.spec = spec
        self.ballast = b"x" * spec.ballast
        self.nested: list[Any] = []
        inner = self.nested
        for _ in range(spec.depth):
            inner.append([])
            inner = inner[0]
        if spec.notes_raise:
            self.__notes__ = RaisingNotes()

    def __reduce__(self) -> tuple[Any, ...]:
        if self.spec.reduce_raises is not None:
            raise ERRORS[self.spec.reduce_raises]()
        return (Hostile, (self.spec,), self.__dict__)

    def __str__(self) -> str:
        if self.spec.str_raises:
            return str(self)  # endless recursion: RecursionError
        return "hostile"

    def __repr__(self) -> str:
        if self.spec.repr_raises is not None:
            raise ERRORS[self.spec.repr_raises]()
        return f"Hostile({self.spec!r})"


@dataclass(frozen=True, repr=False)
class Producer:
    """The call: returns or raises the hostile object ``spec`` describes."""

    spec: Spec

    def __call__(self) -> Hostile:
        hostile = Hostile(self.spec)
        if self.spec.raised:
            raise hostile
        return hostile

    def __repr__(self) -> str:
        if self.spec.repr_raises is not None:
            raise ERRORS[self.spec.repr_raises]()
        return f"Producer({self.spec!r})"


def fail_like_a_driver() -> None:
    raise DriverError()


class ExitsWhenPickled:
    """Pickling it raises ``SystemExit``, as in CPython's ``test_exit_during_result_pickle``."""

    def __reduce__(self) -> tuple[Any, ...]:
        raise SystemExit(4)


def return_one_that_exits_when_pickled() -> ExitsWhenPickled:
    return ExitsWhenPickled()


class ExitsWhenPickledError(Exception):
    def __reduce__(self) -> tuple[Any, ...]:
        raise SystemExit(5)


def raise_one_that_exits_when_pickled() -> None:
    raise ExitsWhenPickledError()


# -- what a call returns or raises -------------------------------------------------------------


@pytest.fixture(scope="module")
def pool() -> Iterator[futurist.ProcessPoolExecutor]:
    """One forked worker for every example: a worker that died would show as a new pid."""
    with make("fork", max_workers=1) as executor:
        yield executor


def test_an_exception_that_cannot_be_pickled_or_printed_fails_as_picklingfailed(
    pool: futurist.ProcessPoolExecutor,
) -> None:
    worker = pool.submit(os.getpid).result(WAIT)
    error = pool.submit(fail_like_a_driver).exception(WAIT)
    assert isinstance(error, futurist.PicklingFailed)
    assert "raised DriverError" in str(error)
    assert isinstance(error.__cause__, TypeError)
    assert "cannot pickle 'socket' object" in str(error.__cause__)
    assert pool.submit(os.getpid).result(WAIT) == worker


@pytest.mark.parametrize("start_method", ["fork", "spawn", "forkserver"])
@pytest.mark.parametrize(
    ("call", "code"),
    [(return_one_that_exits_when_pickled, 4), (raise_one_that_exits_when_pickled, 5)],
    ids=["result", "exception"],
)
def test_a_base_exception_raised_while_pickling_the_outcome_is_the_outcome(
    start_method: str, call: Callable[[], object], code: int
) -> None:
    with make(start_method, max_workers=1) as executor:
        worker = executor.submit(os.getpid).result(WAIT)
        with pytest.raises(SystemExit) as caught:
            executor.submit(call).result(WAIT)
        # Its args, not its code: tblib's pickling (which importing Dask installs) drops code.
        assert caught.value.args == (code,)
        assert executor.submit(os.getpid).result(WAIT) == worker


specs = st.builds(
    Spec,
    raised=st.booleans(),
    reduce_raises=st.none() | st.sampled_from(sorted(ERRORS)),
    str_raises=st.booleans(),
    repr_raises=st.none() | st.sampled_from(sorted(ERRORS)),
    notes_raise=st.booleans(),
    depth=st.sampled_from([0, 3, TOO_DEEP]),
    ballast=st.sampled_from([0, 100, 8 << 20]),
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(spec=specs)
def test_whatever_a_call_returns_or_raises_its_worker_answers(
    pool: futurist.ProcessPoolExecutor, spec: Spec
) -> None:
    worker = pool.submit(os.getpid).result(WAIT)
    future = pool.submit(Producer(spec))
    error = future.exception(WAIT)
    pickling_raises = None if spec.reduce_raises is None else ERRORS[spec.reduce_raises]()
    if pickling_raises is not None and not isinstance(pickling_raises, Exception):
        assert type(error) is type(pickling_raises)
    elif pickling_raises is not None or spec.depth == TOO_DEEP:
        assert isinstance(error, futurist.PicklingFailed)
        assert len(str(error)) < 1000
        cause = "RecursionError" if pickling_raises is None else type(pickling_raises).__name__
        assert cause in causes(error)
    else:
        hostile = error if spec.raised else future.result()
        assert isinstance(hostile, Hostile)
        assert hostile.spec == spec
        assert len(hostile.ballast) == spec.ballast
    assert pool.submit(os.getpid).result(WAIT) == worker


# -- what a call leaves running ----------------------------------------------------------------


def leave_a_timer_running() -> int:
    """Start a non-daemon thread that outlives the call by an hour; return this worker's pid."""
    threading.Timer(3600, print).start()
    return os.getpid()


def leave_a_timer_running_and_ignore_sigterm() -> int:
    """As :func:`leave_a_timer_running`, in a worker that SIGTERM no longer ends."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    return leave_a_timer_running()


def running(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie waiting to be reaped."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.parametrize("call", [leave_a_timer_running, leave_a_timer_running_and_ignore_sigterm])
def test_shutdown_ends_a_worker_that_a_finished_call_keeps_from_exiting(
    call: Callable[[], int], children_checked: None
) -> None:
    executor = make("fork", max_workers=1)
    worker = executor.submit(call).result(WAIT)
    shutdown_within(executor, green=False)
    assert not running(worker)


EXIT_WITH_A_TIMER_LEFT = """
import multiprocessing, sys
import futurist
from tests.test_process_hostile import leave_a_timer_running

executor = futurist.ProcessPoolExecutor(1, multiprocessing.get_context(sys.argv[1]))
print(executor.submit(leave_a_timer_running).result(30), flush=True)
"""


@pytest.mark.parametrize("start_method", ["fork", "spawn"])
def test_interpreter_exit_ends_a_worker_that_a_finished_call_keeps_from_exiting(
    start_method: str, tmp_path: Any
) -> None:
    printed = tmp_path / "printed"
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(printed, "w") as output:
        # Its own session, so that on failure the whole group (an orphaned worker too) ends.
        script = subprocess.Popen(
            [sys.executable, "-c", EXIT_WITH_A_TIMER_LEFT, start_method],
            cwd=root,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            code = script.wait(WAIT)
        except subprocess.TimeoutExpired:
            os.killpg(script.pid, signal.SIGKILL)
            script.wait()
            raise
    text = printed.read_text()
    assert code == 0, text
    assert not running(int(text.split()[0])), text


# -- what the caller passes --------------------------------------------------------------------


class Unpicklable:
    """A call the parent cannot pickle, whose ``repr()`` (which names it in errors) raises."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.close()

    def __call__(self) -> None:
        raise AssertionError("never sent")

    def __repr__(self) -> str:
        return f"Unpicklable({self.sock.getpeername()})"


class Unprintable:
    """An argument whose ``repr()`` (which names it in a crashed call's error) raises."""

    def __repr__(self) -> str:
        raise OSError(errno.ENOTCONN, "not connected")


def crash(argument: object) -> None:
    os._exit(3)


def test_a_call_that_cannot_be_pickled_or_named_fails_only_itself() -> None:
    with make("fork", max_workers=1) as executor:
        error = executor.submit(Unpicklable()).exception(WAIT)
        assert isinstance(error, futurist.PicklingFailed)
        assert "<Unpicklable object at 0x" in str(error)
        assert isinstance(error.__cause__, TypeError)
        assert executor.submit(abs, -1).result(WAIT) == 1


def test_a_crashed_call_whose_argument_cannot_be_printed_fails_only_itself() -> None:
    with make("fork", max_workers=1) as executor:
        with pytest.raises(futurist.WorkerCrashed, match=r"crash\(<Unprintable instance"):
            executor.submit(crash, Unprintable()).result(WAIT)
        assert executor.submit(abs, -1).result(WAIT) == 1
