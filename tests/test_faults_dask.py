"""Faults injected into DaskExecutor's machinery, on a real LocalCluster on 127.0.0.1.

Each fault is injected with ``unittest.mock.patch.object`` at a chosen moment. Whatever fails,
every accepted future reaches exactly one terminal state, ``shutdown(wait=True)`` returns,
the statistics count each accepted call once, and an owned cluster leaves no thread or socket
(``tests/test_faults_dask_owned.py``, apart from this module's shared cluster, which opens
connections of its own at times of its choosing).
"""

from __future__ import annotations

import concurrent.futures
import itertools
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any
from unittest import mock

import pytest

distributed = pytest.importorskip(
    "distributed", reason="distributed is not installed (pip install futurist[dask])"
)

from futurist import BrokenExecutor  # noqa: E402
from futurist.executors.dask import DaskExecutor  # noqa: E402

WAIT = 60.0
"""Seconds a test waits for futures before it fails: far more than any of them needs."""

_GATES: dict[str, threading.Event] = {}


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """One in-process LocalCluster for the module: its worker threads see this module's gates."""
    with distributed.LocalCluster(
        n_workers=1,
        threads_per_worker=4,
        processes=False,
        host="127.0.0.1",
        protocol="tcp://",
        dashboard_address=None,
        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
    ) as local_cluster:
        yield local_cluster


@pytest.fixture
def gate() -> Iterator[str]:
    """The name of a gate that calls wait on; opened at the end of the test whatever happens."""
    name = uuid.uuid4().hex
    _GATES[name] = threading.Event()
    try:
        yield name
    finally:
        _GATES.pop(name).set()


def wait_for_gate(name: str) -> str:
    """Runs on the in-process worker: block until the test opens the gate."""
    if not _GATES[name].wait(WAIT):
        raise TimeoutError(f"gate {name} was never opened")
    return name


def square(value: int) -> int:
    return value * value


def square_after_gate(name: str, value: int) -> int:
    """Runs on the in-process worker: the square of ``value`` once the test opens the gate."""
    wait_for_gate(name)
    return square(value)


def open_gate(name: str) -> None:
    _GATES[name].set()


def settle_all(futures: Sequence[concurrent.futures.Future[Any]]) -> None:
    """Wait (bounded) for every future to reach a terminal state; fail the test otherwise."""
    _, not_done = concurrent.futures.wait(futures, timeout=WAIT)
    assert not not_done, f"{len(not_done)} of {len(futures)} futures never finished"


def assert_counted_once(executor: DaskExecutor, accepted: int) -> None:
    stats = executor.statistics
    assert stats.executed + stats.cancelled == accepted, stats


def threads_left(before: frozenset[threading.Thread]) -> list[str]:
    """The names of threads started since ``before`` still running after WAIT seconds each to
    end: Dask's profiler thread sees that its cluster closed at its own pace."""
    for thread in set(threading.enumerate()) - before:
        thread.join(WAIT)
    return [thread.name for thread in set(threading.enumerate()) - before]


def test_client_refusing_a_submit_fails_that_future_only(cluster: Any) -> None:
    executor = DaskExecutor(2, scheduler_address=cluster.scheduler_address)
    injected = OSError("injected: the client cannot reach its scheduler")
    with mock.patch.object(distributed.Client, "submit", side_effect=injected):
        refused = executor.submit(square, 3)  # does not raise: the future fails instead
    settle_all([refused])
    assert refused.exception() is injected
    accepted = executor.submit(square, 4)
    assert accepted.result(timeout=WAIT) == 16
    executor.shutdown(wait=True)
    stats = executor.statistics
    assert (stats.executed, stats.failures, stats.cancelled) == (2, 1, 0)


def test_client_refusing_backlog_calls_fails_them_on_the_loop(cluster: Any, gate: str) -> None:
    executor = DaskExecutor(1, scheduler_address=cluster.scheduler_address)
    running = executor.submit(wait_for_gate, gate)
    queued = [executor.submit(square, n) for n in range(3)]
    injected = OSError("injected: the client cannot reach its scheduler")
    with (
        mock.patch.object(distributed.Client, "submit", side_effect=injected),
        mock.patch.object(distributed.Client, "map", side_effect=injected),
    ):
        open_gate(gate)
        settle_all([running, *queued])
    assert running.result() == gate
    assert all(future.exception() is injected for future in queued)
    executor.shutdown(wait=True)
    stats = executor.statistics
    assert (stats.executed, stats.failures) == (4, 3)


def test_loop_refusing_to_watch_a_call_fails_it_and_the_others_once(
    cluster: Any, gate: str
) -> None:
    executor = DaskExecutor(3, scheduler_address=cluster.scheduler_address)
    loop = executor._session.client.loop
    real_add_callback = loop.add_callback
    watched = itertools.count()
    injected = RuntimeError("injected: the loop refuses the callback")

    def refuse_the_third_watch(callback: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        if getattr(callback, "__name__", None) == "_await" and next(watched) == 2:
            raise injected
        real_add_callback(callback, *args, **kwargs)

    done_calls: list[concurrent.futures.Future[Any]] = []
    with mock.patch.object(loop, "add_callback", side_effect=refuse_the_third_watch):
        finished = executor.submit(square, 5)
        assert finished.result(timeout=WAIT) == 25
        waiting = executor.submit(wait_for_gate, gate)
        refused = executor.submit(square, 6)  # accepted; watching it fails
    futures: list[concurrent.futures.Future[Any]] = [finished, waiting, refused]
    for future in futures:
        future.add_done_callback(done_calls.append)
    settle_all(futures)
    for future in (waiting, refused):
        error = future.exception()
        assert isinstance(error, BrokenExecutor)
        assert error.__cause__ is injected
    open_gate(gate)  # the cluster's call ends now: its outcome must not settle it twice
    executor.shutdown(wait=True)
    assert sorted(map(id, done_calls)) == sorted(map(id, futures))
    stats = executor.statistics
    assert (stats.executed, stats.failures, stats.cancelled) == (3, 2, 0)


@pytest.mark.parametrize("raised", [ValueError("injected"), SystemExit("injected")])
def test_done_callback_raising_leaves_the_executor_working(
    cluster: Any, gate: str, raised: BaseException
) -> None:
    executor = DaskExecutor(2, scheduler_address=cluster.scheduler_address)
    calls: list[int] = []

    def raising_callback(future: concurrent.futures.Future[Any]) -> None:
        calls.append(1)
        raise raised

    first = executor.submit(wait_for_gate, gate)
    first.add_done_callback(raising_callback)
    queued = [executor.submit(square, n) for n in range(4)]
    open_gate(gate)
    settle_all([first, *queued])
    assert first.result() == gate
    assert [future.result() for future in queued] == [0, 1, 4, 9]
    assert calls == [1]
    assert executor.submit(square, 7).result(timeout=WAIT) == 49
    executor.shutdown(wait=True)
    stats = executor.statistics
    assert (stats.executed, stats.failures) == (6, 0)


def test_results_that_cannot_be_fetched_together_are_fetched_one_by_one(
    cluster: Any, gate: str
) -> None:
    executor = DaskExecutor(8, scheduler_address=cluster.scheduler_address)
    client = executor._session.client
    real_gather = client.gather
    refused: list[int] = []

    def refuse_the_first_batch(futures: list[Any], *args: Any, **kwargs: Any) -> Any:
        if not refused:
            refused.append(len(futures))
            raise OSError("injected: a result was lost with its worker")
        return real_gather(futures, *args, **kwargs)

    # On this client only: the fault hits the first batch of results fetched, whatever its size.
    with mock.patch.object(client, "gather", side_effect=refuse_the_first_batch):
        futures = [executor.submit(square_after_gate, gate, n) for n in range(6)]
        open_gate(gate)
        settle_all(futures)
    assert refused, "no batch of results was fetched while the fault was armed"
    assert [future.result() for future in futures] == [n * n for n in range(6)]
    executor.shutdown(wait=True)
    stats = executor.statistics
    assert (stats.executed, stats.failures, stats.cancelled) == (6, 0, 0)
