"""Faults injected into a DaskExecutor that owns its cluster: it leaves no thread or socket.

These tests count the threads and file descriptors of the test process, so they live apart
from ``tests/test_faults_dask.py``, whose shared in-process cluster opens connections of its own
at times of its choosing: they hold in whatever order the tests run.
"""

from __future__ import annotations

import concurrent.futures
import os
import threading
import uuid
from typing import Any
from unittest import mock

import pytest

distributed = pytest.importorskip(
    "distributed", reason="distributed is not installed (pip install futurist[dask])"
)

from futurist import BrokenExecutor  # noqa: E402
from futurist.executors import _dask_calls as dask_module  # noqa: E402
from futurist.executors.dask import DaskExecutor  # noqa: E402
from tests.faults import settled_fds  # noqa: E402
from tests.test_faults_dask import (  # noqa: E402
    _GATES,
    WAIT,
    assert_counted_once,
    open_gate,
    settle_all,
    square,
    threads_left,
    wait_for_gate,
)


def owned_executor(max_workers: int) -> DaskExecutor:
    return DaskExecutor(max_workers, n_workers=1, threads_per_worker=2, processes=False)


@pytest.fixture(scope="module")
def warmed_up() -> None:
    """Start and close one owned cluster first: Dask's process-wide pools then exist already."""
    with owned_executor(1) as executor:
        assert executor.submit(square, 2).result(timeout=WAIT) == 4


def test_failure_settling_a_call_breaks_the_session_and_fails_what_it_holds(
    warmed_up: None,
) -> None:
    threads, fds = frozenset(threading.enumerate()), frozenset(os.listdir("/proc/self/fd"))
    executor = owned_executor(2)
    gate, other_gate = uuid.uuid4().hex, uuid.uuid4().hex
    _GATES[gate] = threading.Event()
    _GATES[other_gate] = threading.Event()
    try:
        first = executor.submit(wait_for_gate, gate)
        in_flight = executor.submit(wait_for_gate, other_gate)
        backlog = [executor.submit(square, n) for n in range(3)]
        assert executor.queue_size == 3
        injected = RuntimeError("injected: settling failed")
        with mock.patch.object(dask_module, "_settle", side_effect=injected):
            open_gate(gate)  # the first call ends; settling it fails
            settle_all([first, in_flight, *backlog])
        every: list[concurrent.futures.Future[Any]] = [first, in_flight, *backlog]
        for future in every:
            error = future.exception()
            assert isinstance(error, BrokenExecutor)
            assert "its own machinery failed (RuntimeError: injected: settling failed)" in str(
                error
            )
            assert error.__cause__ is injected
        with pytest.raises(BrokenExecutor, match="cannot submit square to DaskExecutor") as raised:
            executor.submit(square, 9)
        assert raised.value.__cause__ is injected
        assert_counted_once(executor, 5)
        assert executor.statistics.failures == 5
    finally:
        _GATES.pop(gate).set()
        _GATES.pop(other_gate).set()
    executor.shutdown(wait=True)
    assert_counted_once(executor, 5)
    assert threads_left(threads) == []
    assert not settled_fds(fds, network=True)


def test_client_failing_to_close_still_closes_the_owned_cluster(warmed_up: None) -> None:
    threads, fds = frozenset(threading.enumerate()), frozenset(os.listdir("/proc/self/fd"))
    executor = owned_executor(2)
    futures = [executor.submit(square, n) for n in range(4)]
    settle_all(futures)
    cluster = executor._session.cluster
    client = executor._session.client
    real_close = client.close

    def close_then_raise(*args: Any, **kwargs: Any) -> None:
        real_close(*args, **kwargs)
        raise OSError("injected: closing the client failed")

    # On this client only: a class-wide patch would also reach other clients' __del__.
    with mock.patch.object(client, "close", side_effect=close_then_raise):
        executor.shutdown(wait=True)
    assert cluster.status.name == "closed"
    assert_counted_once(executor, 4)
    assert threads_left(threads) == []
    assert not settled_fds(fds, network=True)
