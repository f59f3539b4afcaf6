"""Flow control beyond the contract suite: bad input, configuration, delayed priorities, Dask's
own task priority, and the synchronous kind's drain."""

from __future__ import annotations

import concurrent.futures
import math
import threading
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from oslo_config import cfg

import futurist
from futurist import plugins, rejection
from tests.executors.kinds import DelayedThreadPoolExecutor, shared_dask_cluster
from tests.executors.test_contract import identity, wait_then_return

WAIT = 30.0


@pytest.fixture
def pool() -> Any:
    executor = futurist.ThreadPoolExecutor(max_workers=1)
    yield executor
    executor.shutdown(wait=True, cancel_futures=True)


def occupy(executor: futurist.ThreadPoolExecutor) -> tuple[threading.Event, Any]:
    started, release = threading.Event(), threading.Event()
    blocker = executor.submit(wait_then_return, started, release, "blocker")
    assert started.wait(WAIT)
    return release, blocker


@pytest.mark.parametrize("priority", ["high", 1.5, True, None])
def test_a_priority_must_be_an_integer(pool: futurist.ThreadPoolExecutor, priority: Any) -> None:
    with pytest.raises(TypeError, match=rf"priority must be an integer .*{priority!r}"):
        pool.prioritized(priority)


@pytest.mark.parametrize(
    ("timeout", "error"),
    [(-1, ValueError), (math.nan, ValueError), ("1", TypeError), (None, TypeError)],
)
def test_drain_refuses_a_bad_timeout_and_changes_nothing(
    pool: futurist.ThreadPoolExecutor, timeout: Any, error: type[Exception]
) -> None:
    with pytest.raises(error, match=r"timeout must be a number of seconds"):
        pool.drain(timeout)
    assert pool.alive
    assert pool.submit(identity, 1).result(WAIT) == 1


@pytest.mark.parametrize(
    ("arguments", "error", "words"),
    [
        ((2, -1.0), ValueError, "timeout must be a number of seconds >= 0 or None"),
        ((2, "soon"), TypeError, "timeout must be a number of seconds"),
        ((0,), ValueError, "max_backlog must be >= 1 to wait for room"),
        ((-1,), ValueError, "max_backlog must be >= 0"),
        (("2",), TypeError, "max_backlog must be an integer"),
    ],
)
def test_wait_when_reached_refuses_bad_values(
    arguments: tuple[Any, ...], error: type[Exception], words: str
) -> None:
    with pytest.raises(error, match=words):
        rejection.wait_when_reached(*arguments)


def test_a_prioritized_submit_of_a_non_callable_is_a_type_error(
    pool: futurist.ThreadPoolExecutor,
) -> None:
    with pytest.raises(TypeError, match="callable"):
        pool.prioritized(1).submit(42)  # type: ignore[arg-type]
    assert pool.statistics == futurist.ExecutorStatistics()


def test_priorities_switched_on_later_still_order_the_calls_queued_before(
    pool: futurist.ThreadPoolExecutor,
) -> None:
    release, _ = occupy(pool)
    order: list[str] = []
    early = [pool.submit(order.append, f"plain {n}") for n in range(3)]
    urgent = pool.prioritized(1).submit(order.append, "urgent")
    release.set()
    for future in [*early, urgent]:
        future.result(WAIT)
    assert order == ["urgent", "plain 0", "plain 1", "plain 2"]


def test_a_delayed_call_keeps_its_priority_until_it_is_handed_over() -> None:
    executor = DelayedThreadPoolExecutor(max_workers=1)
    try:
        release, _ = occupy(executor)
        order: list[str] = []
        plain = executor.submit(order.append, "plain")
        delayed = executor.prioritized(5).submit_after(0, order.append, "delayed")
        while executor.queue_size < 2:
            assert not delayed.done()
            concurrent.futures.wait([delayed], timeout=0.001)
        release.set()
        plain.result(WAIT)
        delayed.result(WAIT)
        assert order == ["delayed", "plain"]
    finally:
        executor.shutdown(wait=True)


def test_synchronous_drain_reports_a_call_still_running_in_another_thread() -> None:
    executor = futurist.SynchronousExecutor()
    started, release = threading.Event(), threading.Event()
    futures: list[concurrent.futures.Future[Any]] = []
    caller = threading.Thread(
        target=lambda: futures.append(executor.submit(wait_then_return, started, release, "slow"))
    )
    caller.start()
    assert started.wait(WAIT)
    try:
        unfinished = executor.drain(0)
        assert len(unfinished) == 1
        (future,) = unfinished
        assert future.running()
    finally:
        release.set()
        caller.join(WAIT)
    assert futures == [future]
    assert future.result(WAIT) == "slow"


def test_the_dask_kind_gives_its_priority_to_the_dask_task() -> None:
    import distributed

    executor = futurist.DaskExecutor(scheduler_address=shared_dask_cluster().scheduler_address)
    submit = distributed.Client.submit
    try:
        with mock.patch.object(
            distributed.Client, "submit", autospec=True, side_effect=submit
        ) as spy:
            assert executor.prioritized(7).submit(identity, "seven").result(WAIT) == "seven"
            assert executor.submit(identity, "plain").result(WAIT) == "plain"
        assert [call.kwargs["priority"] for call in spy.call_args_list] == [7, 0]
    finally:
        executor.shutdown(wait=True)


def write_config(tmp_path: Path, text: str) -> cfg.ConfigOpts:
    path = tmp_path / "service.conf"
    path.write_text(text)
    conf = cfg.ConfigOpts()
    conf(args=["--config-file", str(path)], default_config_files=[])
    return conf


def test_backlog_policy_wait_from_a_config_file_waits_then_times_out(tmp_path: Path) -> None:
    conf = write_config(
        tmp_path,
        "[futurist]\nmax_workers = 1\nmax_backlog = 1\nbacklog_policy = wait\n"
        "backlog_timeout = 0\n",
    )
    executor = plugins.from_config(conf)
    assert isinstance(executor, futurist.ThreadPoolExecutor)
    try:
        release, _ = occupy(executor)
        queued = executor.submit(identity, "queued")
        with pytest.raises(futurist.RejectedSubmission, match=r"0\.0 s backlog timeout"):
            executor.submit(identity, "refused")
        release.set()
        assert queued.result(WAIT) == "queued"
    finally:
        executor.shutdown(wait=True)


def test_backlog_policy_wait_without_max_backlog_is_a_value_error(tmp_path: Path) -> None:
    conf = write_config(tmp_path, "[futurist]\nbacklog_policy = wait\n")
    with pytest.raises(cfg.ConfigFileValueError) as caught:
        plugins.from_config(conf)
    assert str(caught.value).startswith(
        f"[futurist] backlog_policy = 'wait' (from file {conf.config_file[0]}), max_backlog = "
        "None (default): backlog_policy = wait needs max_backlog"
    )


def test_an_unknown_backlog_policy_names_the_choices(tmp_path: Path) -> None:
    conf = write_config(tmp_path, "[futurist]\nbacklog_policy = queue\n")
    with pytest.raises(cfg.ConfigFileValueError, match=r"backlog_policy.*queue"):
        plugins.from_config(conf)
