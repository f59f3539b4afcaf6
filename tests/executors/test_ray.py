"""The ray kind beyond the shared contract: options, faults, serialisation, stopping."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from oslo_config import cfg

import futurist
from futurist import plugins
from futurist.executors import _ray_calls
from tests.executors.kinds import shared_ray_instance
from tests.executors.test_contract import identity, wait_then_return

WAIT = 60.0


@pytest.fixture
def executor() -> Iterator[futurist.RayExecutor]:
    shared_ray_instance()
    built = futurist.RayExecutor(max_workers=1)
    yield built
    built.shutdown(wait=True, cancel_futures=True)


@pytest.mark.parametrize(
    ("options", "error", "words"),
    [
        ({"num_cpus_per_call": 0}, ValueError, "num_cpus_per_call must be greater than 0"),
        ({"num_cpus_per_call": "1"}, TypeError, "num_cpus_per_call must be a number of CPUs"),
        ({"max_retries": -1}, ValueError, "max_retries must be 0 or more, got -1"),
        ({"max_retries": 1.5}, TypeError, "max_retries must be an integer"),
        ({"connect_timeout": float("inf")}, ValueError, "connect_timeout must be greater"),
        ({"ray_address": 6379}, TypeError, "ray_address must be a string"),
        ({"auth_token_file": "/nonexistent/token"}, ValueError, "not a readable, non-empty"),
        ({"auth_token_file": 7}, TypeError, "auth_token_file must be a path .* got int 7"),
        ({"max_retries": "2"}, TypeError, "max_retries must be an integer, got str '2'"),
        ({"propagate_context": True}, ValueError, "propagate_context=True is not possible"),
        ({"max_workers": 0}, ValueError, "max_workers must be greater than 0"),
    ],
)
def test_bad_options_are_refused_before_ray_is_touched(
    options: dict[str, Any], error: type[Exception], words: str
) -> None:
    with pytest.raises(error, match=words):
        futurist.RayExecutor(**options)


def test_options_come_from_a_config_group_with_their_bounds(tmp_path: Path) -> None:
    path = tmp_path / "service.conf"
    path.write_text("[futurist]\nexecutor = ray\nnum_cpus_per_call = 0\n")
    conf = cfg.ConfigOpts()
    conf(args=["--config-file", str(path)], default_config_files=[])
    with pytest.raises(cfg.ConfigFileValueError, match="num_cpus_per_call"):
        plugins.from_config(conf)


def test_a_config_group_builds_an_executor_on_this_process_s_connection(tmp_path: Path) -> None:
    shared_ray_instance()
    path = tmp_path / "service.conf"
    path.write_text(
        "[futurist]\nexecutor = ray\nmax_workers = 3\nnum_cpus_per_call = 0.5\nmax_retries = 1\n"
    )
    conf = cfg.ConfigOpts()
    conf(args=["--config-file", str(path)], default_config_files=[])
    executor = plugins.from_config(conf)
    try:
        assert isinstance(executor, futurist.RayExecutor)
        assert (executor.max_workers, executor.owns_instance) == (3, False)
        assert executor.submit(pow, 2, 10).result(WAIT) == 1024
    finally:
        executor.shutdown()
    import ray

    assert ray.is_initialized()  # the application's connection stays open


def test_an_address_other_than_the_process_s_cluster_is_refused() -> None:
    shared_ray_instance()
    with pytest.raises(ValueError, match="already connected to the Ray cluster at"):
        futurist.RayExecutor(ray_address="10.255.255.1:6379")


def test_lambdas_and_closures_run(executor: futurist.RayExecutor) -> None:
    base = 40

    def add(value: int) -> int:
        return base + value

    assert executor.submit(lambda: 1).result(WAIT) == 1
    assert executor.submit(add, 2).result(WAIT) == 42


def test_a_call_that_cannot_be_serialised_fails_alone(executor: futurist.RayExecutor) -> None:
    refused = executor.submit(id, threading.Lock())
    error = refused.exception(WAIT)
    assert isinstance(error, futurist.PicklingFailed)
    assert "cannot be serialised" in str(error)
    assert isinstance(error.__cause__, TypeError)
    assert executor.submit(pow, 3, 2).result(WAIT) == 9
    assert executor.statistics.failures == 1


def test_a_call_s_error_is_its_own_with_the_remote_traceback(
    executor: futurist.RayExecutor,
) -> None:
    error = executor.submit(int, "x").exception(WAIT)
    assert type(error) is ValueError
    assert isinstance(error.__cause__, futurist.exceptions.RemoteTraceback)
    assert "ValueError: invalid literal for int()" in str(error.__cause__)


def test_a_worker_killed_mid_call_fails_that_call_and_the_executor_goes_on(
    executor: futurist.RayExecutor,
) -> None:
    import ray

    crashed = executor.submit(os._exit, 1)
    error = crashed.exception(WAIT)
    assert isinstance(error, futurist.WorkerCrashed)
    assert isinstance(error.__cause__, ray.exceptions.WorkerCrashedError)
    assert executor.submit(pow, 2, 3).result(WAIT) == 8
    assert executor.alive


def test_a_system_exit_in_a_call_fails_only_its_future(executor: futurist.RayExecutor) -> None:
    assert isinstance(executor.submit(_exit_call).exception(WAIT), SystemExit)
    assert executor.submit(pow, 2, 4).result(WAIT) == 16


def _exit_call() -> None:
    raise SystemExit(3)


@pytest.mark.parametrize(
    "value",
    [
        7,
        2**80,
        1.5,
        "text",
        "lone \ud800",
        b"bytes",
        bytearray(b"bytearray"),
        [bytearray(b"in a list")],
        True,
        None,
        [(1, 2)],
        (1, 2),
        {1: (2,)},
        frozenset({3}),
    ],
    ids=repr,
)
def test_a_result_comes_back_with_its_exact_type(
    executor: futurist.RayExecutor, value: object
) -> None:
    """Plain results travel by msgpack, the rest pickled: neither path changes a type."""
    result = executor.submit(identity, value).result(WAIT)
    assert (type(result), result) == (type(value), value)
    if isinstance(value, list | dict):
        inner = next(iter(result.values())) if isinstance(result, dict) else result[0]
        assert type(inner) is type(
            next(iter(value.values())) if isinstance(value, dict) else value[0]
        )


def test_a_bytearray_passed_by_keyword_reaches_the_call_as_a_bytearray(
    executor: futurist.RayExecutor,
) -> None:
    """Ray's msgpack turns a bytearray into bytes: arguments of such types travel pickled."""
    result = executor.submit(identity, value=bytearray(b"keyword")).result(WAIT)
    assert (type(result), result) == (bytearray, bytearray(b"keyword"))


def test_a_call_that_ends_behind_older_running_ones_is_settled_while_they_run(
    manager: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The collector waits on the oldest calls in flight (here one); a later call that ends
    first is found by its sweep of the others, not left until the oldest end."""
    shared_ray_instance()
    monkeypatch.setattr(_ray_calls, "_WINDOW", 1)
    executor = futurist.RayExecutor(max_workers=2)
    try:
        started, release = manager.Event(), manager.Event()
        oldest = executor.submit(wait_then_return, started, release, "oldest")
        assert started.wait(WAIT)
        assert executor.submit(pow, 2, 5).result(WAIT) == 32
        assert not oldest.done()
        release.set()
        assert oldest.result(WAIT) == "oldest"
    finally:
        executor.shutdown()


def test_the_default_window_grows_with_short_calls_and_a_given_max_workers_stays() -> None:
    """Unset, ``max_workers`` starts at 64 per CPU and follows the pace calls end at (about
    a second of them, at most 1,024 per CPU); a ``max_workers`` given never moves."""
    shared_ray_instance()
    default, given = futurist.RayExecutor(), futurist.RayExecutor(max_workers=3)
    try:
        first = default.max_workers
        assert first == 64 * 2  # the shared instance has two CPUs
        for executor in (default, given):
            futures = [executor.submit(pow, 2, n) for n in range(300)]
            assert [future.result(WAIT) for future in futures] == [2**n for n in range(300)]
        assert first < default.max_workers <= 1024 * 2
        assert given.max_workers == 3
    finally:
        default.shutdown()
        given.shutdown()


def test_statistics_count_the_time_calls_ran_on_the_workers(
    executor: futurist.RayExecutor,
) -> None:
    executor.submit(sum, range(100_000)).result(WAIT)
    executor.submit(_exit_call).exception(WAIT)
    statistics = executor.statistics
    assert (statistics.executed, statistics.failures) == (2, 1)
    assert statistics.runtime > 0


def test_a_cluster_that_refuses_calls_fails_every_accepted_one_and_later_submits(
    executor: futurist.RayExecutor,
) -> None:
    blocker = executor.submit(time.sleep, 600)
    queued = [executor.submit(pow, 2, n) for n in range(3)]
    session = executor._session
    refusal = ConnectionError("the cluster is gone")
    with mock.patch.object(session, "submit_task", side_effect=refusal):
        executor.stop(blocker)  # frees its slot: the next queued call is sent, and refused
        for future in queued:
            error = future.exception(WAIT)
            assert isinstance(error, futurist.BrokenExecutor)
            assert "lost its Ray cluster" in str(error)
            assert isinstance(error.__cause__, ConnectionError)
        with pytest.raises(futurist.BrokenExecutor, match="cannot submit pow"):
            executor.submit(pow, 2, 2)
