"""Stopping DaskExecutor calls: ``stop()``, ``terminate_workers()`` and ``kill_workers()``.

Dask cancels a task that has not run; one already running on a worker thread runs on there (a
thread cannot be interrupted) and its result is discarded. Only the worker processes of a cluster
the executor owns are ended; a shared cluster's workers serve other clients and are left alone.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest

distributed = pytest.importorskip(
    "distributed", reason="distributed is not installed (pip install distributed)"
)

from futurist import CallStopped  # noqa: E402
from futurist.executors.dask import DaskExecutor  # noqa: E402
from tests.executors.kinds import shared_dask_cluster  # noqa: E402

WAIT = 60.0
"""Seconds a test waits for anything before it fails: far more than any of them needs."""


@pytest.fixture
def client() -> Iterator[Any]:
    """A plain Dask client on the suite's shared cluster, for the events the calls wait on."""
    with distributed.Client(shared_dask_cluster(), set_as_default=False) as dask_client:
        yield dask_client


def announce_then_wait(started: str, gate: str) -> str:
    """On the worker: set the Dask event ``started``, then block until ``gate`` is set."""
    distributed.Event(started).set()
    if not distributed.Event(gate).wait(timeout=WAIT):
        raise TimeoutError(f"event {gate} was never set")
    return gate


def square(value: int) -> int:
    return value * value


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


def test_stop_cancels_a_running_call_and_gives_its_slot_to_the_next(client: Any) -> None:
    started, gate = unique("started"), unique("gate")
    executor = DaskExecutor(1, scheduler_address=shared_dask_cluster().scheduler_address)
    try:
        running = executor.submit(announce_then_wait, started, gate)
        assert distributed.Event(started, client=client).wait(WAIT)
        queued = executor.submit(square, 3)
        executor.stop(running)
        error = running.exception(WAIT)
        assert isinstance(error, CallStopped)
        assert "announce_then_wait was stopped while it ran" in str(error)
        assert "runs on there until it returns" in str(error)
        # The stopped call still occupies its worker thread; its slot went to the queued call.
        assert queued.result(WAIT) == 9
    finally:
        distributed.Event(gate, client=client).set()
        executor.shutdown(wait=True)
    stats = executor.statistics
    assert (stats.executed, stats.failures, stats.cancelled) == (2, 1, 0)


def test_stop_while_the_call_is_being_sent_stops_it_as_it_arrives() -> None:
    executor = DaskExecutor(1, scheduler_address=shared_dask_cluster().scheduler_address)
    client = executor._session.client
    send = client.submit

    def stop_then_send(*args: Any, **kwargs: Any) -> Any:
        [item] = executor._session.running()
        executor.stop(item.future)
        return send(*args, **kwargs)

    try:
        with mock.patch.object(client, "submit", side_effect=stop_then_send):
            future = executor.submit(square, 2)
        assert isinstance(future.exception(WAIT), CallStopped)
        assert executor.submit(square, 4).result(WAIT) == 16
    finally:
        executor.shutdown(wait=True)
    stats = executor.statistics
    assert (stats.executed, stats.failures) == (2, 1)


def test_terminate_workers_leaves_a_shared_clusters_workers_running(client: Any) -> None:
    started, gate = unique("started"), unique("gate")
    workers = client.run(os.getpid)
    executor = DaskExecutor(1, scheduler_address=shared_dask_cluster().scheduler_address)
    try:
        running = executor.submit(announce_then_wait, started, gate)
        queued = executor.submit(square, 3)
        assert distributed.Event(started, client=client).wait(WAIT)
        executor.terminate_workers()
        assert not executor.alive
        assert queued.cancelled()
        error = running.exception(WAIT)
        assert isinstance(error, CallStopped)
        assert "terminate_workers() cancelled its Dask task" in str(error)
    finally:
        distributed.Event(gate, client=client).set()
    executor.shutdown(wait=True)
    assert client.run(os.getpid) == workers
    assert client.submit(square, 5).result(WAIT) == 25


@pytest.mark.parametrize("method", ["terminate_workers", "kill_workers"])
def test_ending_workers_ends_the_owned_clusters_worker_processes(method: str) -> None:
    executor = DaskExecutor(n_workers=1, threads_per_worker=1)
    try:
        worker = executor.submit(os.getpid).result(WAIT)
        running = executor.submit(announce_then_wait, unique("started"), unique("gate"))
        getattr(executor, method)()
        error = running.exception(WAIT)
        assert isinstance(error, CallStopped)
        assert f"{method}() ended the worker processes of its own cluster" in str(error)
    finally:
        executor.shutdown(wait=True)
    with pytest.raises(ProcessLookupError):
        os.kill(worker, 0)
    stats = executor.statistics
    assert (stats.executed, stats.failures) == (2, 1)
