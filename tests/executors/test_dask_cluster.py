"""A real multi-process Dask cluster: `dask scheduler` and two `dask worker` on loopback ports.

The executor is chosen by address (from an oslo.config file where the plugin registry exists),
runs work, loses one worker mid-run, and still finishes every future.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

distributed = pytest.importorskip(
    "distributed", reason="distributed is not installed (pip install distributed)"
)

from futurist.executors.base import Executor  # noqa: E402
from futurist.executors.dask import DaskExecutor  # noqa: E402

TASKS = 12


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _dask_command() -> list[str]:
    script = Path(sys.executable).with_name("dask")
    return [str(script)] if script.exists() else [shutil.which("dask") or "dask"]


def _worker_environment() -> dict[str, str]:
    """Workers import calls by module name, as on a real cluster: put the project on their path."""
    here = str(Path(__file__).resolve().parents[2])
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": here if not path else os.pathsep.join([here, path])}


@pytest.fixture(scope="module")
def scheduler_address() -> Iterator[str]:
    """A `dask scheduler` process on a free loopback port."""
    port = _free_port()
    process = subprocess.Popen(
        [
            *_dask_command(),
            "scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--dashboard-address",
            "127.0.0.1:0",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield f"tcp://127.0.0.1:{port}"
    finally:
        process.kill()
        process.wait(30)


@pytest.fixture
def workers(scheduler_address: str) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Two single-threaded `dask worker` processes (no nanny: killing one really loses it)."""
    processes = [
        subprocess.Popen(
            [
                *_dask_command(),
                "worker",
                scheduler_address,
                "--host",
                "127.0.0.1",
                "--nthreads",
                "1",
                "--no-nanny",
                "--no-dashboard",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=_worker_environment(),
        )
        for _ in range(2)
    ]
    try:
        with distributed.Client(scheduler_address, timeout=30, set_as_default=False) as client:
            client.wait_for_workers(2, timeout=60)
        yield processes
    finally:
        for process in processes:
            process.kill()
            process.wait(30)


def report_then_wait(queue_name: str, gate: str, value: int) -> int:
    """Tell the test which worker process runs this call, then wait for the test's go."""
    distributed.Queue(queue_name).put(os.getpid())
    if not distributed.Event(gate).wait(timeout=60):
        raise TimeoutError(f"event {gate} was never set")
    return value * 10


def _run_and_kill_a_worker(
    executor: Executor, scheduler_address: str, workers: list[subprocess.Popen[bytes]]
) -> None:
    queue_name = f"started-{uuid.uuid4().hex}"
    gate = f"gate-{uuid.uuid4().hex}"
    with distributed.Client(scheduler_address, timeout=30, set_as_default=False) as client:
        started = distributed.Queue(queue_name, client=client)
        futures = [executor.submit(report_then_wait, queue_name, gate, n) for n in range(TASKS)]
        # Deterministic: the call has started on this worker, which we now kill mid-task.
        pid = started.get(timeout=60)
        victim = next(process for process in workers if process.pid == pid)
        victim.kill()
        victim.wait(30)
        distributed.Event(gate, client=client).set()
        assert [f.result(timeout=120) for f in futures] == [n * 10 for n in range(TASKS)]
    executor.shutdown(wait=True)
    stats = executor.statistics
    assert (stats.executed, stats.failures, stats.cancelled) == (TASKS, 0, 0)
    assert all(f.done() and not f.cancelled() for f in futures)


def test_killed_worker_loses_no_task(
    scheduler_address: str, workers: list[subprocess.Popen[bytes]]
) -> None:
    executor = DaskExecutor(scheduler_address=scheduler_address)
    assert not executor.owns_cluster
    _run_and_kill_a_worker(executor, scheduler_address, workers)


def test_config_file_selects_dask_by_address(
    scheduler_address: str, workers: list[subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    from oslo_config import cfg

    from futurist import plugins

    config_file = tmp_path / "service.conf"
    config_file.write_text(
        f"[futurist]\nexecutor = dask\nscheduler_address = {scheduler_address}\n"
    )
    conf = cfg.ConfigOpts()
    conf(args=[], default_config_files=[str(config_file)])
    from_config: Callable[..., Any] = plugins.from_config
    executor = from_config(conf)
    assert isinstance(executor, DaskExecutor)
    assert executor.scheduler_address == scheduler_address
    _run_and_kill_a_worker(executor, scheduler_address, workers)
