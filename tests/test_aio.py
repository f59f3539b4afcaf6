"""futurist.aio: AsyncExecutor and unwrap_future, under asyncio and trio, over several executors.

Every async test runs on both backends (anyio's pytest plugin). Calls that must stay running wait
on a ``threading.Event`` (a gate) the test opens; the test learns that a call has started from a
concurrent future the call completes. Nothing waits by sleeping.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import itertools
import os
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import anyio
import pytest
import trio

import futurist
from futurist.aio import AsyncExecutor, BackendName, default_buffer_size, unwrap_future
from futurist.executors.base import Executor
from tests.executors.kinds import KINDS as SHARED_KINDS
from tests.executors.kinds import Kind as SharedKind

pytestmark = pytest.mark.anyio

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("REQUEST_ID", default="unset")


@dataclass(frozen=True)
class Kind:
    """An executor kind AsyncExecutor is tested with, and what its calls can do."""

    name: str
    make: Callable[[int], concurrent.futures.Executor]
    """Builds the executor with the given number of workers (where that means something)."""
    threaded: bool
    """Calls run in other threads of this process: they may wait on a gate the test opens."""
    in_process: bool = True
    """Calls run in this process: contexts can follow them (handle_contexts=True)."""
    counts: bool = False
    """The executor keeps futurist statistics."""
    most_workers: int | None = None
    """The most calls it runs at once, whatever it is asked for (None: as many as asked)."""


def _futurist_kind(shared: SharedKind) -> Kind:
    return Kind(
        f"futurist-{shared.name}",
        lambda n: shared.make(max_workers=n),
        # The tests that block calls expect a one-worker pool to queue the second call.
        threaded=shared.threaded and shared.smallest_pool == 1,
        in_process=not shared.crosses_processes,
        counts=True,
        most_workers=shared.largest_pool,
    )


# Every futurist kind of the contract suite, plus the standard library's pools.
KINDS = [
    # Green kinds run only while the eventlet hub runs, which an asyncio or trio loop never does.
    *(_futurist_kind(shared) for shared in SHARED_KINDS if not shared.green),
    Kind("stdlib-thread", lambda n: concurrent.futures.ThreadPoolExecutor(max_workers=n), True),
    Kind(
        "stdlib-process",
        lambda n: concurrent.futures.ProcessPoolExecutor(max_workers=n),
        False,
        in_process=False,
    ),
]
THREADED_KINDS = [kind for kind in KINDS if kind.threaded]


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> BackendName:
    name: BackendName = request.param
    return name


@pytest.fixture(params=KINDS, ids=lambda kind: kind.name)
def kind(request: pytest.FixtureRequest) -> Kind:
    chosen: Kind = request.param
    return chosen


@pytest.fixture(params=THREADED_KINDS, ids=lambda kind: kind.name)
def threaded_kind(request: pytest.FixtureRequest) -> Kind:
    chosen: Kind = request.param
    return chosen


@pytest.fixture
def gate() -> Iterator[threading.Event]:
    """An event calls wait on; opened at teardown too, so a failed test never hangs shutdown."""
    event = threading.Event()
    yield event
    event.set()


@pytest.fixture
def executors() -> Iterator[list[concurrent.futures.Executor]]:
    """Executors to shut down at teardown (after the gate fixture has opened)."""
    made: list[concurrent.futures.Executor] = []
    yield made
    for executor in made:
        executor.shutdown(wait=True, cancel_futures=True)


def wrap(
    kind: Kind, executors: list[concurrent.futures.Executor], workers: int = 2
) -> AsyncExecutor[concurrent.futures.Executor]:
    executor = kind.make(workers)
    executors.append(executor)
    return AsyncExecutor(executor, handle_contexts=kind.in_process)


def fail(message: str) -> None:
    raise ValueError(message)


def reciprocal(value: int) -> float:
    return 1 / value


def hold(entered: concurrent.futures.Future[None], gate: threading.Event, value: str) -> str:
    """Say the call has started, then wait until the test opens the gate."""
    entered.set_result(None)
    gate.wait()
    return value


def visit(
    log: list[int],
    value: int,
    entered: concurrent.futures.Future[None] | None,
    gate: threading.Event | None,
) -> int:
    log.append(value)
    if entered is not None:
        entered.set_result(None)
    if gate is not None:
        gate.wait()
    return value


def statistics_of(executor: concurrent.futures.Executor) -> futurist.ExecutorStatistics:
    assert isinstance(executor, Executor)
    return executor.statistics


# --- run -----------------------------------------------------------------------------------


async def test_run_returns_the_result(
    kind: Kind, executors: list[concurrent.futures.Executor]
) -> None:
    executor = wrap(kind, executors)
    assert await executor.run(pow, 2, 10) == 1024
    assert await executor.run(int, "ff", base=16) == 255


async def test_run_raises_the_call_exception(
    kind: Kind, executors: list[concurrent.futures.Executor]
) -> None:
    executor = wrap(kind, executors)
    with pytest.raises(ValueError, match="boom") as caught:
        await executor.run(fail, "boom")
    if kind.in_process:
        assert caught.traceback[-1].name == "fail"


async def test_stop_iteration_from_the_call_becomes_runtime_error(
    kind: Kind, executors: list[concurrent.futures.Executor]
) -> None:
    executor = wrap(kind, executors)
    with pytest.raises(RuntimeError) as caught:
        await executor.run(next, iter(()))
    assert isinstance(caught.value.__cause__, StopIteration)


async def test_a_rejected_submission_reaches_the_awaiting_caller() -> None:
    def refuse(executor: object, backlog: int) -> None:
        raise futurist.RejectedSubmission(f"backlog {backlog} is too long")

    with futurist.ThreadPoolExecutor(max_workers=1, check_and_reject=refuse) as pool:
        executor = AsyncExecutor(pool)
        with pytest.raises(futurist.RejectedSubmission, match="backlog 0 is too long"):
            await executor.run(abs, 1)
        with pytest.raises(futurist.RejectedSubmission):
            await anext(executor.map(abs, [1]))
    assert pool.statistics == futurist.ExecutorStatistics()


async def test_backend_names_the_running_library(
    anyio_backend: BackendName, executors: list[concurrent.futures.Executor]
) -> None:
    executor = wrap(KINDS[0], executors)
    assert executor.backend() == anyio_backend
    assert AsyncExecutor(executor.wrapped, anyio_backend).backend() == anyio_backend
    assert "backend=detected" in repr(executor)


def test_wrapped_is_the_executor() -> None:
    pool = futurist.SynchronousExecutor()
    executor = AsyncExecutor(pool)
    assert executor.wrapped is pool
    with pytest.raises(AttributeError):
        executor.wrapped = pool  # type: ignore[misc]


# --- contexts ------------------------------------------------------------------------------


async def test_calls_run_in_a_copy_of_the_callers_context(
    threaded_kind: Kind, executors: list[concurrent.futures.Executor]
) -> None:
    executor = wrap(threaded_kind, executors)
    REQUEST_ID.set("request-7")
    assert await executor.run(REQUEST_ID.get) == "request-7"
    assert [value async for value in executor.map(lambda _: REQUEST_ID.get(), range(3))] == [
        "request-7"
    ] * 3
    await executor.run(REQUEST_ID.set, "changed in the worker")
    assert REQUEST_ID.get() == "request-7"


async def test_without_handle_contexts_calls_do_not_see_the_callers_context(
    threaded_kind: Kind, executors: list[concurrent.futures.Executor]
) -> None:
    pool = threaded_kind.make(1)
    executors.append(pool)
    executor = AsyncExecutor(pool, handle_contexts=False)
    REQUEST_ID.set("request-8")
    assert await executor.run(REQUEST_ID.get) == "unset"


# --- map -----------------------------------------------------------------------------------


async def test_map_yields_results_in_input_order(
    kind: Kind, executors: list[concurrent.futures.Executor]
) -> None:
    executor = wrap(kind, executors)
    results = [value async for value in executor.map(pow, [2, 3, 4, 5], [5, 6, 7], buffersize=2)]
    assert results == [32, 729, 16384]
    assert [value async for value in executor.map(abs, [])] == []


async def test_map_raises_a_call_exception_at_its_position(
    kind: Kind, executors: list[concurrent.futures.Executor]
) -> None:
    executor = wrap(kind, executors)
    received: list[float] = []
    with pytest.raises(ZeroDivisionError):
        async for value in executor.map(reciprocal, [1, 2, 0, 4]):
            received.append(value)
    assert received == [1.0, 0.5]


@pytest.mark.parametrize("buffersize", [4, 1, None])
async def test_map_over_an_endless_iterable_keeps_at_most_buffersize_outstanding(
    kind: Kind, executors: list[concurrent.futures.Executor], buffersize: int | None
) -> None:
    executor = wrap(kind, executors, workers=3)
    bound = buffersize or default_buffer_size(executor.wrapped)
    lock = threading.Lock()
    drawn = 0
    consumed = 0
    most_outstanding = 0

    def endless() -> Iterator[int]:
        nonlocal drawn, most_outstanding
        for number in itertools.count():
            with lock:
                drawn += 1
                most_outstanding = max(most_outstanding, drawn - consumed)
            yield number

    async with contextlib.aclosing(executor.map(abs, endless(), buffersize=buffersize)) as values:
        async for value in values:
            assert value == consumed
            with lock:
                consumed += 1
            if consumed == 30:
                break
    assert most_outstanding == bound
    await executor.shutdown()
    if kind.counts:
        figures = statistics_of(executor.wrapped)
        assert figures.executed + figures.cancelled == drawn
        assert figures.executed >= consumed


async def test_closing_map_early_cancels_the_calls_not_started(
    threaded_kind: Kind, executors: list[concurrent.futures.Executor], gate: threading.Event
) -> None:
    executor = wrap(threaded_kind, executors, workers=1)
    log: list[int] = []
    entered: concurrent.futures.Future[None] = concurrent.futures.Future()
    values = executor.map(
        visit,
        itertools.repeat(log),
        [1, 2, 3, 4],
        [None, entered, None, None],
        [None, gate, None, None],
        buffersize=4,
    )
    assert await values.__anext__() == 1
    await unwrap_future(entered)
    await values.aclose()
    gate.set()
    await executor.shutdown()
    assert log == [1, 2]
    if threaded_kind.counts:
        figures = statistics_of(executor.wrapped)
        assert (figures.executed, figures.cancelled) == (2, 2)


# --- cancellation --------------------------------------------------------------------------


async def test_cancelling_before_the_call_starts_means_it_never_runs(
    threaded_kind: Kind, executors: list[concurrent.futures.Executor], gate: threading.Event
) -> None:
    executor = wrap(threaded_kind, executors, workers=1)
    entered: concurrent.futures.Future[None] = concurrent.futures.Future()
    second_ran = threading.Event()
    second_scope = anyio.CancelScope()
    second_over = anyio.Event()
    results: list[str] = []

    async def first() -> None:
        results.append(await executor.run(hold, entered, gate, "first"))

    async def second() -> None:
        with second_scope:
            await executor.run(second_ran.set)
        second_over.set()

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(first)
        await unwrap_future(entered)
        tasks.start_soon(second)
        await anyio.wait_all_tasks_blocked()
        second_scope.cancel()
        await second_over.wait()
        assert second_scope.cancelled_caught
        gate.set()
    await executor.shutdown()
    assert results == ["first"]
    assert not second_ran.is_set()
    if threaded_kind.counts:
        figures = statistics_of(executor.wrapped)
        assert (figures.executed, figures.cancelled) == (1, 1)


async def test_a_call_from_a_cancelled_scope_never_runs(
    threaded_kind: Kind, executors: list[concurrent.futures.Executor], gate: threading.Event
) -> None:
    executor = wrap(threaded_kind, executors, workers=1)
    entered: concurrent.futures.Future[None] = concurrent.futures.Future()
    ran = threading.Event()
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(executor.run, hold, entered, gate, "first")
        await unwrap_future(entered)
        with anyio.CancelScope() as scope:
            scope.cancel()
            await executor.run(ran.set)
        assert scope.cancelled_caught
        gate.set()
    await executor.shutdown()
    assert not ran.is_set()


async def test_cancelling_a_running_call_propagates_at_once_and_drops_its_result(
    threaded_kind: Kind, executors: list[concurrent.futures.Executor], gate: threading.Event
) -> None:
    executor = wrap(threaded_kind, executors, workers=1)
    entered: concurrent.futures.Future[None] = concurrent.futures.Future()
    scope = anyio.CancelScope()
    caller_over = anyio.Event()
    returned: list[str] = []

    async def caller() -> None:
        with scope:
            returned.append(await executor.run(hold, entered, gate, "dropped"))
        caller_over.set()

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(caller)
        await unwrap_future(entered)
        scope.cancel()
        # The call still waits on the closed gate: the caller got its cancellation first.
        await caller_over.wait()
        assert scope.cancelled_caught
        gate.set()
    await executor.shutdown()
    assert returned == []
    if threaded_kind.counts:
        figures = statistics_of(executor.wrapped)
        assert (figures.executed, figures.cancelled) == (1, 0)


# --- shutdown ------------------------------------------------------------------------------


async def test_shutdown_lets_other_tasks_run_while_it_waits(
    threaded_kind: Kind, executors: list[concurrent.futures.Executor], gate: threading.Event
) -> None:
    executor = wrap(threaded_kind, executors, workers=1)
    entered: concurrent.futures.Future[None] = concurrent.futures.Future()
    shut_down = anyio.Event()
    other_task_ran = anyio.Event()

    async def shut_it_down() -> None:
        await executor.shutdown()
        shut_down.set()

    async def other_task() -> None:
        other_task_ran.set()

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(executor.run, hold, entered, gate, "long")
        await unwrap_future(entered)
        tasks.start_soon(shut_it_down)
        await anyio.wait_all_tasks_blocked()
        tasks.start_soon(other_task)
        await other_task_ran.wait()
        with pytest.raises(RuntimeError, match="shut down"):
            await executor.run(abs, 1)
        assert not shut_down.is_set()
        # Opening the gate from the loop is only possible because shutdown does not block it.
        gate.set()
        await shut_down.wait()
    with pytest.raises(RuntimeError):
        executor.wrapped.submit(abs, 1)


async def test_async_with_shuts_the_executor_down(
    kind: Kind, executors: list[concurrent.futures.Executor]
) -> None:
    async with wrap(kind, executors) as executor:
        assert await executor.run(abs, -3) == 3
    with pytest.raises(RuntimeError, match="shut down"):
        await executor.run(abs, 1)
    with pytest.raises(RuntimeError, match="shut down"):
        executor.map(abs, [1])
    with pytest.raises(RuntimeError):
        executor.wrapped.submit(abs, 1)


async def test_shutdown_nowait_with_cancel_futures_cancels_queued_calls(
    threaded_kind: Kind, executors: list[concurrent.futures.Executor], gate: threading.Event
) -> None:
    executor = wrap(threaded_kind, executors, workers=1)
    entered: concurrent.futures.Future[None] = concurrent.futures.Future()
    running = executor.wrapped.submit(hold, entered, gate, "running")
    queued = executor.wrapped.submit(abs, 1)
    await unwrap_future(entered)
    executor.shutdown_nowait(cancel_futures=True)
    assert queued.cancelled()
    with pytest.raises(RuntimeError, match="shut down"):
        await executor.run(abs, 1)
    with pytest.raises(concurrent.futures.CancelledError):
        await unwrap_future(queued)
    gate.set()
    assert await unwrap_future(running) == "running"
    await executor.shutdown()


# --- unwrap_future -------------------------------------------------------------------------


async def test_unwrap_future_awaits_a_result_set_from_another_thread() -> None:
    future: concurrent.futures.Future[int] = concurrent.futures.Future()
    setter = threading.Thread(target=future.set_result, args=(42,))
    setter.start()
    assert await unwrap_future(future) == 42
    setter.join()
    failed: concurrent.futures.Future[int] = concurrent.futures.Future()
    failed.set_exception(KeyError("missing"))
    with pytest.raises(KeyError, match="missing"):
        await unwrap_future(failed)


async def test_cancelling_unwrap_future_cancels_a_pending_future(
    anyio_backend: BackendName,
) -> None:
    future: concurrent.futures.Future[int] = concurrent.futures.Future()
    with anyio.CancelScope() as scope:
        scope.cancel()
        await unwrap_future(future, anyio_backend)
    assert scope.cancelled_caught
    assert future.cancelled()


# --- several event loops -------------------------------------------------------------------


def test_one_executor_serves_several_event_loops_in_threads(
    threaded_kind: Kind, executors: list[concurrent.futures.Executor]
) -> None:
    if threaded_kind.most_workers is not None and threaded_kind.most_workers < 3:
        pytest.skip(f"{threaded_kind.name} cannot run three calls at once")
    executor = wrap(threaded_kind, executors, workers=3)
    # Each loop's call waits at the barrier until all three are running at the same time.
    barrier = threading.Barrier(3, timeout=60)
    outcomes: dict[str, tuple[str, int]] = {}
    errors: list[BaseException] = []

    async def call() -> tuple[str, int]:
        return executor.backend(), await executor.run(barrier.wait)

    def in_thread(name: str, run_loop: Callable[[], tuple[str, int]]) -> None:
        try:
            outcomes[name] = run_loop()
        except BaseException as exc:
            errors.append(exc)

    loops: dict[str, Callable[[], tuple[str, int]]] = {
        "asyncio-1": lambda: asyncio.run(call()),
        "asyncio-2": lambda: asyncio.run(call()),
        "trio": lambda: trio.run(call),
    }
    threads = [
        threading.Thread(target=in_thread, args=(name, run_loop), name=name)
        for name, run_loop in loops.items()
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    backends = {name: backend for name, (backend, _) in outcomes.items()}
    assert backends == {"asyncio-1": "asyncio", "asyncio-2": "asyncio", "trio": "trio"}
    assert sorted(index for _, index in outcomes.values()) == [0, 1, 2]


# --- bad input -----------------------------------------------------------------------------


def test_executor_must_be_an_executor() -> None:
    with pytest.raises(TypeError, match=r"executor must be a concurrent.futures.Executor.*list"):
        AsyncExecutor([])  # type: ignore[type-var]


def test_unknown_backend_lists_the_valid_ones() -> None:
    with pytest.raises(ValueError, match=r"'asyncio', 'trio' or None, got 'curio'"):
        AsyncExecutor(futurist.SynchronousExecutor(), "curio")  # type: ignore[arg-type]


def test_trio_backend_without_trio_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "trio", None)
    with pytest.raises(ImportError, match=r"pip install trio"):
        AsyncExecutor(futurist.SynchronousExecutor(), "trio")
    with pytest.raises(ImportError, match=r"pip install trio"):
        asyncio.run(unwrap_future(concurrent.futures.Future(), "trio"))


def test_handle_contexts_must_be_a_bool() -> None:
    with pytest.raises(TypeError, match="handle_contexts must be True or False, got str 'no'"):
        AsyncExecutor(futurist.SynchronousExecutor(), handle_contexts="no")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("buffersize", "error", "message"),
    [
        (0, ValueError, "buffersize must be an integer >= 1 or None, got 0"),
        (-2, ValueError, "got -2"),
        (2.5, TypeError, "got float 2.5"),
        (True, TypeError, "got bool True"),
    ],
)
def test_map_buffersize_must_be_a_positive_integer(
    buffersize: Any, error: type[Exception], message: str
) -> None:
    executor = AsyncExecutor(futurist.SynchronousExecutor())
    with pytest.raises(error, match=message):
        executor.map(abs, [1], buffersize=buffersize)


def test_map_and_run_need_a_callable() -> None:
    executor = AsyncExecutor(futurist.SynchronousExecutor())
    with pytest.raises(TypeError, match="map\\(\\) needs a callable, got int 3"):
        executor.map(3, [1])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="run\\(\\) needs a callable, got int 3"):
        asyncio.run(executor.run(3))  # type: ignore[arg-type]


def test_unwrap_future_needs_a_concurrent_future() -> None:
    with pytest.raises(TypeError, match=r"needs a concurrent\.futures\.Future, got int 5"):
        asyncio.run(unwrap_future(5))  # type: ignore[arg-type]


def test_awaiting_outside_an_event_loop_says_what_is_needed() -> None:
    executor = AsyncExecutor(futurist.SynchronousExecutor())
    with pytest.raises(RuntimeError, match="needs a running asyncio or trio task"):
        executor.backend()


async def test_a_chosen_backend_that_is_not_running_is_named(anyio_backend: BackendName) -> None:
    other: BackendName = "trio" if anyio_backend == "asyncio" else "asyncio"
    executor = AsyncExecutor(futurist.SynchronousExecutor(), other)
    with pytest.raises(RuntimeError, match=f"backend='{other}' was chosen, but {anyio_backend}"):
        await executor.run(abs, 1)


def test_default_buffer_size_is_the_worker_count_when_known() -> None:
    with (
        futurist.ThreadPoolExecutor(max_workers=3) as ours,
        concurrent.futures.ThreadPoolExecutor(max_workers=5) as stdlib,
    ):
        assert default_buffer_size(ours) == 3
        assert default_buffer_size(stdlib) == 5
    assert default_buffer_size(futurist.SynchronousExecutor()) == 2 * (os.cpu_count() or 1)
