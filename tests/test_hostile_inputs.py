"""Hostile inputs at the boundary every call crosses, on every executor kind.

What a call returns (values whose dunders raise, huge or deeply nested values), what it raises
(every kind of ``BaseException``, exceptions whose ``str()`` or ``repr()`` raise), what it
leaves running (threads), and what the caller passes (things that are not callable, callables
whose ``repr()`` raises, keywords, timeouts, ``map`` arguments, a ``check_and_reject`` or an
initializer that raises). Each answer is compared with the standard library's in the same case:
its thread pool for kinds that run calls in this process, its process pool for the others.
Where futurist differs on purpose, ``docs/differences.rst`` says so.

Hypothesis draws the hostile values. Each kind keeps one executor for the whole module, so an
example costs a kind that crosses processes one round trip, not a pool start.
"""

from __future__ import annotations

import concurrent.futures
import gc
import logging
import math
import multiprocessing
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from concurrent.futures.thread import BrokenThreadPool
from typing import Any, NoReturn

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import futurist
from futurist.executors import _process_lifecycle
from futurist.executors._process_state import KILL_AFTER
from futurist.executors.base import Executor
from tests.executors.kinds import KINDS, EventLike, Kind
from tests.executors.test_contract import assert_collected, identity

WAIT = 30.0
"""Upper bound for any wait; reaching it means a bug, not a slow machine."""
SHUTDOWN_BOUND = _process_lifecycle._EXIT_GRACE + KILL_AFTER + 13.0
"""How long ``shutdown(wait=True)`` may take with a stray thread left behind: a worker process
that does not exit gets the exit grace, SIGTERM and then SIGKILL (5 + 2 s); the rest is margin
for a loaded machine, still far below a hang."""

EXAMPLES = settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
"""Few examples: a kind that crosses processes pays a round trip for each."""


# The hostile values. Module level, so that worker processes can unpickle them.


class Sore(Exception):
    """What a hostile dunder raises unless told to raise something else."""


class CustomBaseException(BaseException):
    """A ``BaseException`` that is none of the standard library's."""


DUNDERS = ("__repr__", "__str__", "__eq__", "__hash__")
DUNDER_ERRORS: tuple[type[BaseException], ...] = (
    Sore,
    KeyboardInterrupt,
    SystemExit,
    GeneratorExit,
    CustomBaseException,
)


class Hostile:
    """A value whose dunders named in ``raising`` raise ``error``."""

    def __init__(self, raising: frozenset[str], error: type[BaseException]) -> None:
        self.raising = raising
        self.error = error

    def _check(self, dunder: str) -> None:
        if dunder in self.raising:
            raise self.error(dunder)

    def __repr__(self) -> str:
        self._check("__repr__")
        return f"Hostile({sorted(self.raising)})"

    def __str__(self) -> str:
        self._check("__str__")
        return "hostile"

    def __eq__(self, other: object) -> bool:
        self._check("__eq__")
        return self is other

    def __hash__(self) -> int:
        self._check("__hash__")
        return id(self)


class DelRaises:
    """A value whose ``__del__`` raises."""

    def __del__(self) -> None:
        raise Sore("__del__")


class _HostileMessage(BaseException):
    """An exception whose ``__str__`` and ``__repr__`` raise when named in ``hostile``."""

    hostile: frozenset[str] = frozenset()

    def __str__(self) -> str:
        if "__str__" in self.hostile:
            raise Sore("__str__")
        return super().__str__()

    def __repr__(self) -> str:
        if "__repr__" in self.hostile:
            raise Sore("__repr__")
        return super().__repr__()


class HostileException(_HostileMessage, Exception):
    """An ordinary failure."""


class HostileKeyboardInterrupt(_HostileMessage, KeyboardInterrupt):
    """Ctrl-C inside a call."""


class HostileSystemExit(_HostileMessage, SystemExit):
    """``sys.exit()`` inside a call."""


class HostileGeneratorExit(_HostileMessage, GeneratorExit):
    """A generator's exit, escaping."""


class HostileBaseException(_HostileMessage, CustomBaseException):
    """A home-made ``BaseException``."""


RAISED = (
    HostileException,
    HostileKeyboardInterrupt,
    HostileSystemExit,
    HostileGeneratorExit,
    HostileBaseException,
)


def hostile_exception(cls: type[_HostileMessage], hostile: frozenset[str]) -> _HostileMessage:
    """A ``cls`` whose dunders named in ``hostile`` raise."""
    error = cls("raised by the call")
    error.hostile = hostile
    return error


class HostileCallable:
    """A callable with no ``__qualname__`` whose ``repr()`` raises; ``fails`` makes it raise
    an exception whose ``str()`` and ``repr()`` raise too."""

    def __init__(self, fails: bool = False) -> None:
        self.fails = fails

    def __call__(self) -> str:
        if self.fails:
            raise hostile_exception(HostileException, frozenset({"__str__", "__repr__"}))
        return "called"

    def __repr__(self) -> str:
        raise Sore("__repr__")


def keywords_of(**keywords: int) -> dict[str, int]:
    return keywords


def raise_new(cls: type[_HostileMessage], hostile: frozenset[str]) -> NoReturn:
    """Raise a fresh ``cls`` from a nested frame, so its traceback holds frames of the call."""

    def deeper() -> NoReturn:
        raise hostile_exception(cls, hostile)

    deeper()


def nested(depth: int) -> list[Any]:
    """A list nested ``depth`` deep: more than pickle's recursion limit allows."""
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


def leave_a_thread(daemon: bool, release: EventLike, ended: EventLike) -> str:
    """Start a thread that outlives the call: it waits for ``release``, then sets ``ended``."""

    def linger() -> None:
        release.wait(WAIT)
        ended.set()

    threading.Thread(target=linger, daemon=daemon, name="left-by-a-call").start()
    return "returned"


def wait_for(release: EventLike) -> bool:
    return release.wait(WAIT)


def failing_initializer() -> None:
    raise Sore("initializer")


class HostileInitializer:
    """An initializer that raises and whose ``repr()`` raises too."""

    def __call__(self) -> None:
        raise Sore("initializer")

    def __repr__(self) -> str:
        raise Sore("__repr__")


# Fixtures: one executor per kind for the module, and the standard library's pools.


@pytest.fixture(scope="module")
def built() -> Iterator[dict[str, Executor]]:
    executors: dict[str, Executor] = {}
    yield executors
    for executor in executors.values():
        executor.shutdown(wait=True, cancel_futures=True)


@pytest.fixture
def executor(kind: Kind, built: dict[str, Executor]) -> Executor:
    """The module's executor of ``kind`` (two workers), built on first use."""
    if kind.name not in built:
        built[kind.name] = kind.make(max_workers=2)
    return built[kind.name]


class Standard:
    """The standard library's pools, started on first use, to compare answers with."""

    def __init__(self) -> None:
        self._pools: dict[bool, concurrent.futures.Executor] = {}

    def like(self, kind: Kind) -> concurrent.futures.Executor:
        """The pool that runs calls where ``kind`` does: its process pool or its thread pool."""
        crosses = kind.crosses_processes
        if crosses not in self._pools:
            self._pools[crosses] = (
                concurrent.futures.ProcessPoolExecutor(2, multiprocessing.get_context("spawn"))
                if crosses
                else concurrent.futures.ThreadPoolExecutor(2)
            )
        return self._pools[crosses]

    def close(self) -> None:
        for pool in self._pools.values():
            pool.shutdown(wait=True)


@pytest.fixture(scope="module")
def standard() -> Iterator[Standard]:
    pools = Standard()
    yield pools
    pools.close()


def outcome(future: concurrent.futures.Future[Any]) -> type[BaseException] | None:
    """The type of the exception ``future`` ended with (None if it succeeded)."""
    exc = future.exception(WAIT)
    return None if exc is None else type(exc)


# What a call returns.


@EXAMPLES
@given(
    raising=st.frozensets(st.sampled_from(DUNDERS)),
    error=st.sampled_from(DUNDER_ERRORS),
)
def test_a_result_whose_dunders_raise_comes_back_untouched(
    kind: Kind,
    executor: Executor,
    standard: Standard,
    raising: frozenset[str],
    error: type[BaseException],
) -> None:
    """Nothing on the way back calls ``repr``, ``str``, ``==`` or ``hash`` on a result."""
    before = executor.statistics
    result = executor.submit(Hostile, raising, error).result(WAIT)
    assert isinstance(result, Hostile)
    assert (result.raising, result.error) == (raising, error)
    after = executor.statistics
    assert (after.executed - before.executed, after.failures - before.failures) == (1, 0)
    assert outcome(standard.like(kind).submit(Hostile, raising, error)) is None


def test_a_result_whose_del_raises_is_reported_where_it_dies_and_costs_nothing(
    kind: Kind, executor: Executor, monkeypatch: pytest.MonkeyPatch
) -> None:
    unraisable: list[type[BaseException]] = []
    # Only the type: the report's traceback would hold the dying object and bring it back.
    monkeypatch.setattr("sys.unraisablehook", lambda report: unraisable.append(report.exc_type))
    collected = kind.new_event()
    future = executor.submit(DelRaises)
    reference = weakref.ref(future.result(WAIT), lambda _: collected.set())
    del future
    assert executor.submit(identity, "next").result(WAIT) == "next"
    assert_collected(kind, reference, collected)
    assert Sore in unraisable
    assert executor.submit(identity, "still").result(WAIT) == "still"


@pytest.mark.filterwarnings("ignore:Sending large graph")
def test_a_huge_argument_and_result_cross_whole(kind: Kind, executor: Executor) -> None:
    payload = bytes(range(256)) * (64 * 1024)  # 16 MiB
    assert executor.submit(identity, payload).result(WAIT) == payload


def test_a_result_too_deep_to_pickle_fails_only_its_call(
    kind: Kind, executor: Executor, standard: Standard
) -> None:
    """In this process it comes back as it is; across processes, its call fails (the standard
    library fails it too, with the pickler's own error: see docs/differences.rst)."""
    future = executor.submit(nested, 100_000)
    if kind.crosses_processes:
        assert isinstance(future.exception(WAIT), Exception)
        assert outcome(standard.like(kind).submit(nested, 100_000)) is not None
    else:
        assert isinstance(future.result(WAIT), list)
    assert executor.submit(identity, "next").result(WAIT) == "next"


# What a call raises.


@EXAMPLES
@given(
    cls=st.sampled_from(RAISED),
    hostile=st.frozensets(st.sampled_from(["__str__", "__repr__"])),
)
def test_whatever_a_call_raises_fails_its_future_as_in_the_standard_library(
    kind: Kind,
    executor: Executor,
    standard: Standard,
    cls: type[_HostileMessage],
    hostile: frozenset[str],
) -> None:
    before = executor.statistics
    future = executor.submit(raise_new, cls, hostile)
    exc, traceback = future.exception_info(WAIT)
    assert type(exc) is cls is outcome(standard.like(kind).submit(raise_new, cls, hostile))
    assert exc.hostile == hostile
    with pytest.raises(cls):
        future.result(WAIT)
    # The frames of the call are reported: in its traceback, or (from a worker process that
    # cannot send frames, as the standard library's) in the text of the exception's cause.
    frames = []
    while traceback is not None:
        frames.append(traceback.tb_frame.f_code.co_name)
        traceback = traceback.tb_next
    cause = exc.__cause__
    assert frames[-2:] == ["raise_new", "deeper"] or (cause is not None and "deeper" in str(cause))
    after = executor.statistics
    assert (after.executed - before.executed, after.failures - before.failures) == (1, 1)
    assert executor.submit(identity, "next").result(WAIT) == "next"


class _Reports(logging.Handler):
    """Keeps the records about a ``HostileCallable`` and says when one arrives."""

    def __init__(self, arrived: EventLike) -> None:
        super().__init__(logging.ERROR)
        self.arrived = arrived
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if HostileCallable.__name__ in record.getMessage():
            self.records.append(record)
            self.arrived.set()


def test_an_unread_failure_is_logged_though_neither_call_nor_exception_can_be_printed(
    kind: Kind, executor: Executor
) -> None:
    reports = _Reports(kind.new_event())
    logger = logging.getLogger("futurist.futures")
    logger.addHandler(reports)
    try:
        future = executor.submit(HostileCallable(fails=True))
        assert not futurist.waiters.wait_for_all([future], WAIT).not_done  # waiting is no reading
        del future
        # The report comes when the future is collected: collect until it does.
        deadline = time.monotonic() + WAIT
        while not reports.arrived.wait(0.05):
            assert time.monotonic() < deadline, "the unread failure was never logged"
            gc.collect()
    finally:
        logger.removeHandler(reports)
    (record,) = reports.records
    assert "nobody read its exception" in record.getMessage()
    assert "whose repr() raised Sore" in record.getMessage()
    assert record.exc_info is not None and record.exc_info[0] is HostileException


# What a call leaves running.


@pytest.mark.parametrize("daemon", [True, False], ids=["daemon", "non-daemon"])
def test_a_thread_a_call_leaves_behind_does_not_hold_up_shutdown(
    kind: Kind, manager: Any, daemon: bool
) -> None:
    """The thread is the call's, not the executor's: ``shutdown(wait=True)`` returns while it
    runs. In this process it runs on (a non-daemon one keeps the interpreter from exiting until
    it ends, as with the standard library's pools); a worker process is ended after a grace
    period, and its threads with it."""
    # A native thread waits on native events, on green kinds too.
    events: Callable[[], EventLike] = manager.Event if kind.crosses_processes else threading.Event
    release, ended = events(), events()
    executor = kind.make(max_workers=1)
    try:
        assert executor.submit(leave_a_thread, daemon, release, ended).result(WAIT) == "returned"
        stopping = kind.spawn(executor.shutdown, True)
        stopping.join(SHUTDOWN_BOUND)
        assert not stopping.is_alive(), "shutdown(wait=True) waited for a thread a call left"
        assert kind.crosses_processes or not ended.is_set()
    finally:
        release.set()
        executor.shutdown(wait=True)
    assert kind.crosses_processes or ended.wait(WAIT)


# What the caller passes.

NOT_CALLABLE = st.one_of(
    st.none(),
    st.integers(),
    st.text(max_size=5),
    st.lists(st.integers(), max_size=3),
    st.builds(Hostile, st.frozensets(st.sampled_from(DUNDERS)), st.just(Sore)),
)


@EXAMPLES
@given(value=NOT_CALLABLE)
def test_something_not_callable_is_a_type_error_at_submit(
    kind: Kind, executor: Executor, standard: Standard, value: object
) -> None:
    """The standard library fails the future with ``TypeError`` instead (docs/differences.rst)."""
    before = executor.statistics
    with pytest.raises(TypeError, match=r"^submit\(\) needs a callable, got "):
        executor.submit(value)  # type: ignore[arg-type]
    assert executor.statistics == before
    assert outcome(standard.like(kind).submit(value)) is TypeError  # type: ignore[arg-type]


def test_a_callable_whose_repr_raises_runs_and_errors_still_name_it(kind: Kind) -> None:
    executor = kind.make(max_workers=1)
    with executor:
        assert executor.submit(HostileCallable()).result(WAIT) == "called"
    with pytest.raises(RuntimeError, match=r"^cannot schedule new futures after shutdown: .*Sore"):
        executor.submit(HostileCallable())


@EXAMPLES
@given(
    keywords=st.dictionaries(
        st.sampled_from(["fn", "self", "args", "timeout"]) | st.text(), st.integers(), max_size=4
    )
)
def test_keywords_reach_the_call_as_in_the_standard_library(
    kind: Kind, executor: Executor, standard: Standard, keywords: dict[str, int]
) -> None:
    """``fn`` is positional-only, so even a keyword named ``fn`` goes to the call; one the
    call does not take fails its future with ``TypeError``."""
    assert executor.submit(keywords_of, **keywords).result(WAIT) == keywords
    assert standard.like(kind).submit(keywords_of, **keywords).result(WAIT) == keywords
    unknown = executor.submit(identity, "x", unknown=5)
    theirs = standard.like(kind).submit(identity, "x", unknown=5)  # type: ignore[call-arg]
    assert outcome(unknown) is TypeError is outcome(theirs)


def _timeout_answer(wait: Callable[[Any], object], timeout: object) -> object:
    """What ``wait(timeout)`` returns, or the type of what it raises."""
    try:
        return wait(timeout)
    except BaseException as exc:
        return type(exc)


TIMEOUTS = st.one_of(
    st.floats(max_value=0.0),
    st.just(math.nan),
    st.integers(max_value=0),
    st.floats(min_value=1e-4, max_value=1e-2),
    st.text(max_size=3),
    st.lists(st.integers(), max_size=2),
)
"""Timeouts that end a wait at once or soon, whatever they are: none waits a long time."""


@pytest.fixture
def pending(
    kind: Kind, executor: Executor, manager: Any
) -> Iterator[tuple[concurrent.futures.Future[Any], concurrent.futures.Future[Any]]]:
    """A future of ``executor`` whose call runs until the test ends, and one that is done."""
    if kind.in_caller:
        pytest.skip(f"{kind.name} runs calls in the caller: no future is ever pending")
    done = executor.submit(identity, "done")
    done.result(WAIT)
    release = kind.new_event(manager)
    future = executor.submit(wait_for, release)
    yield future, done
    release.set()
    assert future.result(WAIT) is True


@EXAMPLES
@given(timeout=TIMEOUTS)
def test_a_timeout_of_any_value_answers_as_in_the_standard_library(
    pending: tuple[concurrent.futures.Future[Any], concurrent.futures.Future[Any]],
    timeout: object,
) -> None:
    standard_pending: concurrent.futures.Future[Any] = concurrent.futures.Future()
    standard_done: concurrent.futures.Future[Any] = concurrent.futures.Future()
    standard_done.set_result("done")
    for ours, theirs in zip(pending, [standard_pending, standard_done], strict=True):
        for method in ("result", "exception"):
            assert _timeout_answer(getattr(ours, method), timeout) == _timeout_answer(
                getattr(theirs, method), timeout
            )


@pytest.mark.parametrize("timeout", [math.inf, 1e300])
def test_a_timeout_too_large_for_the_clock_is_an_overflow_error_as_in_the_standard_library(
    kind: Kind,
    pending: tuple[concurrent.futures.Future[Any], concurrent.futures.Future[Any]],
    timeout: float,
) -> None:
    if kind.green:
        pytest.skip("a green future waits on eventlet's clock, which takes any timeout")
    expected = _timeout_answer(concurrent.futures.Future().result, timeout)
    assert expected is OverflowError
    assert _timeout_answer(pending[0].result, timeout) is expected


class _Inline(concurrent.futures.Executor):
    """The standard library's ``Executor.map`` over calls that are done when submitted."""

    def submit(
        self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any
    ) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        future.set_result(fn(*args, **kwargs))
        return future


@pytest.mark.parametrize("timeout", ["1", -1, math.nan, 0, math.inf], ids=repr)
def test_a_map_timeout_of_any_value_answers_as_in_the_standard_library(
    kind: Kind, executor: Executor, manager: Any, timeout: object
) -> None:
    """A result already there is yielded whatever the deadline; one still to come is waited
    for, at most until the deadline, as the standard library's ``map`` does."""

    def first(
        pool: concurrent.futures.Executor, function: Callable[..., Any], argument: Any
    ) -> object:
        """The first result of ``pool.map``, or the type of what it raises."""
        try:
            return next(pool.map(function, [argument], timeout=timeout))  # type: ignore[arg-type]
        except BaseException as exc:
            return type(exc)

    if kind.in_caller:
        assert first(executor, identity, "x") == first(_Inline(), identity, "x")
        return
    if kind.green and timeout == math.inf:
        pytest.skip("a green future waits on eventlet's clock, which takes any timeout")
    release = kind.new_event(manager)
    standard_release = threading.Event()
    try:
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            expected = first(pool, wait_for, standard_release)
            standard_release.set()
        assert first(executor, wait_for, release) == expected
    finally:
        release.set()


def standard_map_error(name: str, value: object) -> type[Exception] | None:
    """What Python 3.14's process pool ``map`` raises for ``chunksize`` (``buffersize``: what
    ``Executor.map`` raises) equal to ``value``; None if it takes it."""
    if name == "buffersize":
        if value is None:
            return None
        if not isinstance(value, int):
            return TypeError
        return ValueError if value < 1 else None
    try:
        if value < 1:  # type: ignore[operator]
            return ValueError
    except TypeError:
        return TypeError
    return None if isinstance(value, int) else TypeError


MAP_ARGUMENTS = st.one_of(
    st.integers(-3, 3),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=2),
    st.none(),
    st.booleans(),
)


@EXAMPLES
@given(name=st.sampled_from(["chunksize", "buffersize"]), value=MAP_ARGUMENTS)
def test_map_chunksize_and_buffersize_fail_as_in_the_standard_library(
    executor: Executor, name: str, value: object
) -> None:
    """Except that a ``bool`` is a ``TypeError`` (docs/differences.rst); the standard library's
    thread pool ignores ``chunksize`` altogether."""
    expected = TypeError if isinstance(value, bool) else standard_map_error(name, value)
    arguments: dict[str, Any] = {name: value}
    if expected is None:
        assert list(executor.map(abs, [-1, -2, -3], **arguments)) == [1, 2, 3]
    else:
        with pytest.raises(expected, match=f"^{name} must be"):
            executor.map(abs, [-1], **arguments)


class SwitchablePolicy:
    """A ``check_and_reject`` that raises ``error`` while one is set."""

    def __init__(self) -> None:
        self.error: BaseException | None = None

    def __call__(self, executor: object, backlog: int) -> None:
        if self.error is not None:
            raise self.error


@pytest.fixture(scope="module")
def policed() -> Iterator[dict[str, tuple[Executor, SwitchablePolicy]]]:
    executors: dict[str, tuple[Executor, SwitchablePolicy]] = {}
    yield executors
    for executor, _ in executors.values():
        executor.shutdown(wait=True)


CHECK_ERRORS = st.one_of(
    st.builds(ValueError, st.text(max_size=5)),
    st.builds(futurist.RejectedSubmission, st.text(max_size=5)),
    st.builds(KeyboardInterrupt),
    st.builds(SystemExit, st.integers(0, 3)),
    st.builds(GeneratorExit),
    st.builds(CustomBaseException),
    st.builds(
        hostile_exception,
        st.just(HostileException),
        st.frozensets(st.sampled_from(["__str__", "__repr__"])),
    ),
)


@EXAMPLES
@given(error=CHECK_ERRORS)
def test_a_check_and_reject_raising_anything_refuses_only_that_submission(
    kind: Kind, policed: dict[str, tuple[Executor, SwitchablePolicy]], error: BaseException
) -> None:
    """As in futurist 3.5: what it raises reaches the caller, unchanged, and nothing is
    recorded; the executor carries on."""
    if kind.name not in policed:
        policy = SwitchablePolicy()
        policed[kind.name] = (kind.make(max_workers=2, check_and_reject=policy), policy)
    executor, policy = policed[kind.name]
    before = executor.statistics
    policy.error = error
    try:
        with pytest.raises(type(error)) as caught:
            executor.submit(identity, "refused")
    finally:
        policy.error = None
    assert caught.value is error
    assert executor.statistics == before
    assert executor.metrics.queued == 0
    assert executor.submit(identity, "accepted").result(WAIT) == "accepted"


BY_NAME = {kind.name: kind for kind in KINDS}


@pytest.mark.parametrize(
    ("pool", "initializer"),
    [
        *[
            (BY_NAME[name], failing_initializer)
            for name in ("thread", "thread_dynamic", "thread_delayed")
        ],
        pytest.param(
            BY_NAME["thread"], HostileInitializer(), id="thread-raising-with-raising-repr"
        ),
    ],
    ids=lambda value: value.name if isinstance(value, Kind) else "raising",
)
def test_an_initializer_that_raises_breaks_a_thread_pool_as_in_the_standard_library(
    pool: Kind, initializer: Callable[[], None], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.CRITICAL)
    executor = pool.make(max_workers=1, initializer=initializer)
    try:
        first = executor.submit(identity, "never")
        assert isinstance(first.exception(SHUTDOWN_BOUND), BrokenThreadPool)
        with pytest.raises(BrokenThreadPool):
            executor.submit(identity, "refused")
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
    with concurrent.futures.ThreadPoolExecutor(1, initializer=initializer) as standard:
        assert isinstance(standard.submit(identity, "never").exception(WAIT), BrokenThreadPool)
        with pytest.raises(BrokenThreadPool):
            standard.submit(identity, "refused")


def test_the_standard_map_error_reference_is_python_3_14s() -> None:
    """The reference encodes what CPython 3.14's ``map`` checks, in its order."""
    assert [standard_map_error("chunksize", v) for v in (1, 0, 0.5, 2.5, "2", None, True)] == [
        None,
        ValueError,
        ValueError,
        TypeError,
        TypeError,
        TypeError,
        None,
    ]
    assert [standard_map_error("buffersize", v) for v in (None, 1, 0, 2.5, True, False)] == [
        None,
        None,
        ValueError,
        TypeError,
        None,
        ValueError,
    ]
