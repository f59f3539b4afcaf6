"""DaskExecutor against a real Dask LocalCluster on 127.0.0.1 (worker processes)."""

from __future__ import annotations

import concurrent.futures
import inspect
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

distributed = pytest.importorskip(
    "distributed", reason="distributed is not installed (pip install distributed)"
)

from futurist import Future, RejectedSubmission  # noqa: E402
from futurist.executors.dask import DaskExecutor  # noqa: E402
from futurist.rejection import reject_when_reached  # noqa: E402
from tests.executors.kinds import shared_dask_cluster  # noqa: E402


@pytest.fixture(scope="session")
def dask_cluster() -> Any:
    """The two-worker LocalCluster the whole suite shares (the contract suite's dask kind)."""
    return shared_dask_cluster()


@pytest.fixture
def client(dask_cluster: Any) -> Iterator[Any]:
    """A plain Dask client on the shared cluster, for events the tasks wait on."""
    with distributed.Client(dask_cluster, set_as_default=False) as dask_client:
        yield dask_client


@pytest.fixture
def executor(dask_cluster: Any) -> Iterator[DaskExecutor]:
    executor = DaskExecutor(scheduler_address=dask_cluster.scheduler_address)
    yield executor
    executor.shutdown(wait=True, cancel_futures=True)


def square(value: int) -> int:
    return value * value


def fail(message: str) -> None:
    raise ValueError(message)


def sleep_for(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def make_lock() -> threading.Lock:
    return threading.Lock()


def wait_for_event(name: str) -> str:
    """Block on the worker until the test sets the named Dask event."""
    if not distributed.Event(name).wait(timeout=60):
        raise TimeoutError(f"event {name} was never set")
    return name


def kill_own_worker() -> None:
    os._exit(1)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


def test_runs_calls_and_returns_futurist_futures(executor: DaskExecutor) -> None:
    seen: list[int] = []
    done = threading.Event()

    def on_done(finished: concurrent.futures.Future[int]) -> None:
        seen.append(finished.result())
        done.set()

    future = executor.submit(square, 7)
    assert isinstance(future, Future)
    future.add_done_callback(on_done)
    assert future.result(timeout=30) == 49
    assert done.wait(30)
    assert seen == [49]
    futures = [executor.submit(square, n) for n in range(20)]
    finished, pending = concurrent.futures.wait(futures, timeout=30)
    assert not pending
    assert sorted(f.result() for f in finished) == [n * n for n in range(20)]
    assert executor.submit(pow, 2, exp=10).result(timeout=30) == 1024


def test_failure_keeps_type_traceback_and_is_counted(executor: DaskExecutor) -> None:
    future = executor.submit(fail, "no luck")
    exc, traceback = future.exception_info(timeout=30)
    assert isinstance(exc, ValueError)
    assert str(exc) == "no luck"
    assert traceback is not None
    assert not hasattr(exc, "_futurist_runtime")
    stats = executor.statistics
    assert (stats.executed, stats.failures) == (1, 1)


def test_runtime_is_measured_on_the_worker(dask_cluster: Any) -> None:
    with DaskExecutor(1, scheduler_address=dask_cluster.scheduler_address) as executor:
        futures = [executor.submit(sleep_for, 0.2) for _ in range(2)]
        assert [f.result(timeout=30) for f in futures] == [0.2, 0.2]
    stats = executor.statistics
    assert stats.executed == 2
    assert stats.failures == 0
    # Each call slept 0.2 s where it ran; the second also waited 0.2 s for its slot, which
    # must not count.
    assert 0.4 <= stats.runtime < 0.6


def test_unpicklable_call_fails_only_its_future(executor: DaskExecutor) -> None:
    bad = executor.submit(square, threading.Lock())
    good = executor.submit(square, 3)
    with pytest.raises(TypeError, match=r"cannot send square to the Dask cluster.*_thread.lock"):
        bad.result(timeout=30)
    assert good.result(timeout=30) == 9
    assert executor.statistics.failures == 1


def test_unpicklable_result_fails_only_its_future(executor: DaskExecutor) -> None:
    bad = executor.submit(make_lock)
    good = executor.submit(square, 4)
    with pytest.raises(TypeError, match=r"result of make_lock cannot be serialised"):
        bad.result(timeout=30)
    assert good.result(timeout=30) == 16


def _load_outside(process: int) -> str:
    """Unpickles a ``LoadsOnlyElsewhere`` anywhere but in ``process``."""
    if os.getpid() == process:
        raise RuntimeError(f"this value cannot be loaded in process {process}")
    return "loaded"


class LoadsOnlyElsewhere:
    """A value that pickles anywhere but cannot be unpickled in the process that asked for it."""

    def __init__(self, process: int) -> None:
        self.process = process

    def __reduce__(self) -> tuple[Any, tuple[int]]:
        return _load_outside, (self.process,)


def unloadable_in(process: int) -> LoadsOnlyElsewhere:
    return LoadsOnlyElsewhere(process)


def test_a_result_that_cannot_be_unpickled_in_the_caller_fails_only_its_future(
    dask_cluster: Any,
) -> None:
    with DaskExecutor(scheduler_address=dask_cluster.scheduler_address) as executor:
        bad = executor.submit(unloadable_in, os.getpid())
        with pytest.raises(
            TypeError,
            match=r"^the result of unloadable_in came back from the Dask worker but cannot be "
            r"deserialised here \(RuntimeError: this value cannot be loaded in process \d+\)",
        ):
            bad.result(timeout=30)
        assert executor.submit(square, 5).result(timeout=30) == 25
    stats = executor.statistics
    assert (stats.executed, stats.failures) == (2, 1)


def test_lambdas_and_closures_travel_by_value(executor: DaskExecutor) -> None:
    offset = 5
    assert executor.submit(lambda value: value + offset, 1).result(timeout=30) == 6


def test_check_and_reject_sees_the_real_backlog(dask_cluster: Any, client: Any) -> None:
    seen: list[int] = []

    def record_then_limit(executor: Any, backlog: int) -> None:
        seen.append(backlog)
        reject_when_reached(2)(executor, backlog)

    gate = unique("gate")
    executor = DaskExecutor(1, record_then_limit, scheduler_address=dask_cluster.scheduler_address)
    try:
        running = executor.submit(wait_for_event, gate)
        queued = [executor.submit(square, n) for n in range(2)]
        assert executor.queue_size == 2
        with pytest.raises(RejectedSubmission):
            executor.submit(square, 9)
        assert seen == [0, 0, 1, 2]
        distributed.Event(gate, client=client).set()
        assert running.result(timeout=30) == gate
        assert [f.result(timeout=30) for f in queued] == [0, 1]
        assert executor.statistics.executed == 3
    finally:
        distributed.Event(gate, client=client).set()
        executor.shutdown()


def test_shutdown_without_wait_finishes_accepted_work(dask_cluster: Any, client: Any) -> None:
    gate = unique("gate")
    executor = DaskExecutor(1, scheduler_address=dask_cluster.scheduler_address)
    running = executor.submit(wait_for_event, gate)
    queued = [executor.submit(square, n) for n in range(3)]
    executor.shutdown(wait=False)
    assert not executor.alive
    with pytest.raises(RuntimeError, match="shut down"):
        executor.submit(square, 1)
    distributed.Event(gate, client=client).set()
    assert running.result(timeout=30) == gate
    assert [f.result(timeout=30) for f in queued] == [0, 1, 4]
    executor.shutdown(wait=True)
    executor.shutdown(wait=True)
    assert executor.statistics.executed == 4
    # The cluster was not ours: it keeps serving other clients.
    assert client.submit(square, 6).result(timeout=30) == 36


def test_cancel_futures_cancels_the_backlog_only(dask_cluster: Any, client: Any) -> None:
    gate = unique("gate")
    executor = DaskExecutor(1, scheduler_address=dask_cluster.scheduler_address)
    running = executor.submit(wait_for_event, gate)
    queued = [executor.submit(square, n) for n in range(3)]
    executor.shutdown(wait=False, cancel_futures=True)
    assert all(f.cancelled() for f in queued)
    assert not running.done()
    distributed.Event(gate, client=client).set()
    executor.shutdown(wait=True)
    assert running.result(timeout=0) == gate
    stats = executor.statistics
    assert (stats.executed, stats.cancelled) == (1, 3)


def test_shutdown_wait_returns_after_every_future(dask_cluster: Any) -> None:
    executor = DaskExecutor(2, scheduler_address=dask_cluster.scheduler_address)
    futures = [executor.submit(square, n) for n in range(30)]
    executor.shutdown(wait=True)
    assert all(f.done() for f in futures)
    assert [f.result(timeout=0) for f in futures] == [n * n for n in range(30)]
    stats = executor.statistics
    assert stats.executed + stats.cancelled == 30


def test_map_with_buffersize(executor: DaskExecutor) -> None:
    assert list(executor.map(square, range(25), buffersize=3)) == [n * n for n in range(25)]
    assert list(executor.map(pow, [2, 3], [3, 2], timeout=30)) == [8, 9]


def test_owned_local_cluster_is_closed_at_shutdown() -> None:
    with DaskExecutor(n_workers=1, threads_per_worker=2, processes=False) as executor:
        assert executor.owns_cluster
        assert executor.scheduler_address.startswith("tcp://127.0.0.1:")
        assert executor.max_workers == 128
        assert executor.submit(square, 5).result(timeout=30) == 25
        cluster = executor._session.cluster
    assert cluster.status.name == "closed"


def test_worker_that_keeps_dying_fails_the_future_with_killed_worker() -> None:
    import dask

    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        executor = DaskExecutor(n_workers=1, threads_per_worker=1)
    with executor:
        future = executor.submit(kill_own_worker)
        with pytest.raises(distributed.KilledWorker):
            future.result(timeout=60)
        assert executor.submit(square, 3).result(timeout=60) == 9
    stats = executor.statistics
    assert (stats.executed, stats.failures) == (2, 1)


def test_unreachable_scheduler_gives_a_clear_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    with pytest.raises(ConnectionError) as raised:
        DaskExecutor(scheduler_address=address, connect_timeout=0.5)
    message = str(raised.value)
    assert address in message
    assert "0.5 s" in message
    assert "dask scheduler" in message


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"scheduler_address": "tcp://127.0.0.1:1", "n_workers": 2}, "n_workers=2 applies only"),
        ({"scheduler_address": ""}, "scheduler_address must be a non-empty string"),
        ({"n_workers": 0}, "n_workers must be greater than 0"),
        ({"threads_per_worker": -1}, "threads_per_worker must be greater than 0"),
        ({"connect_timeout": 0}, "connect_timeout must be a finite number of seconds > 0"),
        ({"tls_cert_file": "/nonexistent.pem"}, "needs both tls_ca_file and tls_cert_file"),
        ({"max_workers": 0}, "max_workers must be greater than 0"),
    ],
)
def test_bad_options_are_named(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        DaskExecutor(**kwargs)


def test_bad_check_and_reject_is_refused_before_any_cluster_starts() -> None:
    with pytest.raises(TypeError, match="check_and_reject must be a callable"):
        DaskExecutor(check_and_reject=3)  # type: ignore[arg-type]


def test_config_options_are_constructor_keywords() -> None:
    options = DaskExecutor.config_options()
    names = {opt.dest for opt in options}
    assert names == {
        "scheduler_address",
        "n_workers",
        "threads_per_worker",
        "processes",
        "tls_ca_file",
        "tls_cert_file",
        "tls_key_file",
        "connect_timeout",
    }
    parameters = inspect.signature(DaskExecutor).parameters
    assert names <= set(parameters)
    by_name = {opt.dest: opt for opt in options}
    assert getattr(by_name["n_workers"].type, "min", None) == 1
    assert getattr(by_name["threads_per_worker"].type, "min", None) == 1


def test_futurist_imports_without_distributed_and_names_the_extra() -> None:
    script = (
        "import sys; sys.modules['distributed'] = None\n"
        "import futurist\n"
        "from futurist.executors.dask import DaskExecutor\n"
        "try:\n"
        "    DaskExecutor()\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    output = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert "pip install distributed" in output
