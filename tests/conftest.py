"""Fixtures shared by the suite: one executor kind per test, and a cross-process manager.

No child process outlives the run: one still running when the session ends is ended (and
reported), and so is every child when the run is told to stop with SIGTERM (``make test``'s
time limit), so that a stuck child never keeps a finished or failed run alive.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from collections.abc import Iterator
from types import FrameType
from typing import Any

import pytest

from tests.executors.kinds import (
    KINDS,
    Kind,
    shared_dask_cluster,
    shared_manager,
    shared_ray_instance,
)
from tests.faults import Resources, end_children, outliving_children, resources

_RUNNER_PID = os.getpid()
"""The test runner's process: a forked child inherits the handler below, and must not use it."""


def _end_the_run(signum: int, frame: FrameType | None) -> None:
    """On SIGTERM, end every child process, then die of the signal as if unhandled.

    Only in the runner: a worker forked from it that is stopped with SIGTERM before it resets
    its handlers would otherwise end the runner's children (the shared manager among them).
    """
    if os.getpid() == _RUNNER_PID:
        end_children(multiprocessing.active_children())
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def pytest_configure(config: pytest.Config) -> None:
    signal.signal(signal.SIGTERM, _end_the_run)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    left = multiprocessing.active_children()
    if left:
        end_children(left)
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.ensure_newline()
            reporter.write_line(f"child processes outlived the tests and were ended: {left}")


@pytest.fixture(params=KINDS, ids=lambda kind: kind.name)
def kind(request: pytest.FixtureRequest) -> Kind:
    """Each executor kind in turn."""
    chosen: Kind = request.param
    if chosen.shared is not None:
        chosen.shared()
    return chosen


@pytest.fixture
def before(kind: Kind) -> Resources:
    """What the process holds before the executor under test exists."""
    if kind.green:
        import eventlet

        eventlet.sleep(0)  # the hub (and its file descriptors) exist before the snapshot
    return resources()


@pytest.fixture
def children_checked() -> Iterator[None]:
    """Fail the test if a child process it started is still alive at its end (and end it)."""
    before = set(multiprocessing.active_children())
    yield
    assert outliving_children(before) == set()


@pytest.fixture(scope="session")
def manager() -> Iterator[Any]:
    """A multiprocessing manager, for events shared with tasks in other processes."""
    with shared_manager() as started:
        yield started


@pytest.fixture(scope="session", autouse=True)
def close_the_shared_dask_cluster() -> Iterator[None]:
    """Close the Dask cluster the dask kind started, if a test started it."""
    yield
    if shared_dask_cluster.cache_info().currsize:
        shared_dask_cluster().close()


@pytest.fixture(scope="session", autouse=True)
def stop_the_shared_ray_instance() -> Iterator[None]:
    """Stop the Ray instance the ray kind started, if a test started it."""
    yield
    if shared_ray_instance.cache_info().currsize:
        import ray

        ray.shutdown()


@pytest.fixture
def registry_url() -> Iterator[tuple[Any, str]]:
    """A ``prometheus_client`` registry served over real HTTP on 127.0.0.1, and its URL."""
    import prometheus_client

    registry = prometheus_client.CollectorRegistry()
    server, thread = prometheus_client.start_http_server(0, "127.0.0.1", registry)
    try:
        yield registry, f"http://127.0.0.1:{server.server_port}/metrics"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(30)


@pytest.fixture
def short_switch_interval() -> Iterator[None]:
    """Threads switch every microsecond: races between them happen at every step."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(interval)
