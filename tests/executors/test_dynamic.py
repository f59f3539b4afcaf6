"""DynamicThreadPoolExecutor: growth, shrinking, idle retirement, validation and options."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from concurrent.futures.thread import BrokenThreadPool
from typing import Any

import pytest
from oslo_config import cfg

from futurist import DynamicThreadPoolExecutor, Future, RejectedSubmission


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait for ``predicate`` to hold, re-checking briefly; fail if it never does."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        pause.wait(0.002)


class Blockers:
    """Calls that signal when they start and run until released."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.started = threading.Semaphore(0)

    def __call__(self) -> str:
        self.started.release()
        assert self.release.wait(30)
        return "released"

    def wait_started(self, count: int) -> None:
        for _ in range(count):
            assert self.started.acquire(timeout=30)


def test_grows_with_the_load_up_to_max_workers() -> None:
    blockers = Blockers()
    executor = DynamicThreadPoolExecutor(max_workers=4, min_workers=1)
    futures = [executor.submit(blockers)]
    assert executor.num_workers == 1
    futures += [executor.submit(blockers) for _ in range(5)]
    assert executor.num_workers == 4
    blockers.wait_started(4)
    assert executor.queue_size == 2
    assert executor.get_num_idle_workers() == 0
    blockers.release.set()
    assert [future.result(timeout=30) for future in futures] == ["released"] * 6
    executor.shutdown()
    assert executor.statistics.executed == 6


@pytest.mark.parametrize(
    ("max_workers", "grow_threshold", "shrink_threshold", "submitted", "threads"),
    [
        # Load (running + queued) / threads: 1/0 -> start; 2/1 >= 1.0 -> grow; 3/2 -> grow.
        (8, 1.0, 0.5, 3, 3),
        # With max_workers reached the load keeps growing but the pool does not.
        (2, 0.5, 0.1, 5, 2),
    ],
    ids=["eager", "capped"],
)
def test_grow_threshold_decides_when_a_thread_is_added(
    max_workers: int, grow_threshold: float, shrink_threshold: float, submitted: int, threads: int
) -> None:
    blockers = Blockers()
    executor = DynamicThreadPoolExecutor(
        max_workers=max_workers, grow_threshold=grow_threshold, shrink_threshold=shrink_threshold
    )
    for _ in range(submitted):
        executor.submit(blockers)
    assert executor.num_workers == threads
    blockers.release.set()
    executor.shutdown()


def test_maintain_grows_while_the_load_reaches_the_threshold() -> None:
    blockers = Blockers()
    executor = DynamicThreadPoolExecutor(max_workers=8, grow_threshold=0.5, shrink_threshold=0.2)
    for _ in range(2):
        executor.submit(blockers)
    assert executor.num_workers == 2
    # Load 2/2, 2/3 >= 0.5 -> grow; 2/4 >= 0.5 -> grow; 2/5 < 0.5 -> stable at 5.
    executor.maintain()
    assert executor.num_workers == 5
    executor.maintain()
    assert executor.num_workers == 5
    blockers.release.set()
    executor.shutdown()


def test_maintain_shrinks_an_idle_pool_to_min_workers() -> None:
    blockers = Blockers()
    executor = DynamicThreadPoolExecutor(max_workers=6, min_workers=2)
    futures = [executor.submit(blockers) for _ in range(6)]
    blockers.wait_started(6)
    blockers.release.set()
    for future in futures:
        future.result(timeout=30)
    wait_until(lambda: executor.get_num_idle_workers() == 6)
    executor.maintain()
    wait_until(lambda: executor.num_workers == 2)
    assert executor.queue_size == 0
    assert executor.submit(pow, 2, 5).result(timeout=30) == 32
    executor.shutdown()


def test_idle_threads_retire_by_themselves_down_to_min_workers() -> None:
    blockers = Blockers()
    executor = DynamicThreadPoolExecutor(
        max_workers=4, min_workers=1, idle_timeout=0.01, thread_name_prefix="retiring"
    )
    futures = [executor.submit(blockers) for _ in range(4)]
    assert executor.num_workers == 4
    blockers.wait_started(4)
    blockers.release.set()
    for future in futures:
        future.result(timeout=30)
    wait_until(lambda: executor.num_workers == 1)
    survivors = [t for t in threading.enumerate() if t.name.startswith("retiring_")]
    assert len(survivors) == 1
    assert executor.submit(pow, 3, 2).result(timeout=30) == 9
    executor.shutdown(wait=True)
    assert not survivors[0].is_alive()


def busy_pool(
    max_workers: int, calls: int
) -> tuple[Blockers, DynamicThreadPoolExecutor, list[Future[str]]]:
    """A pool growing at load 1.0 given ``calls`` blockers, each of its threads running one."""
    blockers = Blockers()
    executor = DynamicThreadPoolExecutor(max_workers=max_workers, min_workers=1, grow_threshold=1.0)
    futures = [executor.submit(blockers) for _ in range(calls)]
    blockers.wait_started(min(calls, max_workers))
    return blockers, executor, futures


def release_all(blockers: Blockers, futures: list[Future[str]]) -> None:
    blockers.release.set()
    assert [future.result(timeout=30) for future in futures] == ["released"] * len(futures)


def test_lowering_max_workers_retires_surplus_threads_and_keeps_queued_work() -> None:
    blockers, executor, futures = busy_pool(max_workers=4, calls=7)
    executor.max_workers = 2
    assert (executor.max_workers, executor.queue_size) == (2, 3)
    release_all(blockers, futures)
    wait_until(lambda: executor.num_workers == 2)
    assert executor.get_num_idle_workers() == 2
    executor.shutdown()
    assert executor.statistics.executed == 7


def test_raising_max_workers_grows_for_queued_work_by_the_rule() -> None:
    blockers, executor, futures = busy_pool(max_workers=2, calls=5)
    # Load 5 on 2 threads: with room for 6 the pool grows while the load is at least 1.0,
    # up to 6 threads (5 / 5 is still 1.0), and the 3 queued calls start.
    executor.max_workers = 6
    blockers.wait_started(3)
    assert executor.num_workers == 6
    release_all(blockers, futures)
    executor.shutdown()


def test_max_workers_stays_above_min_workers() -> None:
    with DynamicThreadPoolExecutor(max_workers=4, min_workers=2) as executor:
        with pytest.raises(ValueError, match="max_workers must be greater than min_workers=2"):
            executor.max_workers = 2
        assert executor.max_workers == 4


def test_check_and_reject_sees_only_queued_work() -> None:
    seen: list[int] = []

    def record(executor: Any, backlog: int) -> None:
        seen.append(backlog)
        if backlog >= 2:
            raise RejectedSubmission("busy")

    blockers = Blockers()
    executor = DynamicThreadPoolExecutor(max_workers=2, check_and_reject=record)
    futures = [executor.submit(blockers) for _ in range(2)]
    blockers.wait_started(2)
    futures += [executor.submit(blockers) for _ in range(2)]
    with pytest.raises(RejectedSubmission):
        executor.submit(blockers)
    assert seen == [0, 0, 0, 1, 2]
    blockers.release.set()
    executor.shutdown(wait=True)
    assert all(future.result(timeout=0) == "released" for future in futures)


def test_shutdown_cancel_futures_cancels_queued_work() -> None:
    blockers = Blockers()
    executor = DynamicThreadPoolExecutor(max_workers=2)
    running = [executor.submit(blockers) for _ in range(2)]
    blockers.wait_started(2)
    queued = [executor.submit(pow, 2, n) for n in range(3)]
    executor.shutdown(wait=False, cancel_futures=True)
    assert all(future.cancelled() for future in queued)
    blockers.release.set()
    executor.shutdown(wait=True)
    assert all(future.result(timeout=0) == "released" for future in running)
    stats = executor.statistics
    assert (stats.executed, stats.cancelled) == (2, 3)
    assert executor.num_workers == 0


def test_initializer_runs_in_each_thread_and_a_failing_one_breaks_the_pool() -> None:
    names: list[str] = []
    executor = DynamicThreadPoolExecutor(
        max_workers=2,
        initializer=lambda: names.append(threading.current_thread().name),
        thread_name_prefix="init",
    )
    assert executor.submit(pow, 2, 2).result(timeout=30) == 4
    executor.shutdown()
    assert names == ["init_0"]

    def fail() -> None:
        raise OSError("no")

    broken = DynamicThreadPoolExecutor(max_workers=2, initializer=fail)
    future = broken.submit(pow, 2, 2)
    with pytest.raises(BrokenThreadPool):
        future.result(timeout=30)
    broken.shutdown()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"min_workers": 0}, "min_workers must be greater than 0, got 0"),
        ({"min_workers": 4, "max_workers": 4}, "min_workers must be less than max_workers"),
        ({"grow_threshold": 0}, r"^grow_threshold must be within \(0, 1\], got "),
        ({"grow_threshold": 1.5}, r"^grow_threshold must be within \(0, 1\], got "),
        ({"shrink_threshold": -0.1}, r"^shrink_threshold must be within \[0, 1\), got "),
        ({"shrink_threshold": 1.0}, r"^shrink_threshold must be within \[0, 1\), got "),
        ({"grow_threshold": 0.5, "shrink_threshold": 0.5}, "less than grow_threshold"),
        ({"grow_threshold": math.nan}, "grow_threshold must be a number"),
        ({"idle_timeout": 0}, "idle_timeout must be a finite number of seconds > 0"),
        ({"idle_timeout": math.inf}, "idle_timeout must be a finite"),
        ({"max_workers": 0}, "max_workers must be greater than 0"),
    ],
)
def test_out_of_range_values_name_the_parameter(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DynamicThreadPoolExecutor(**kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"min_workers": 1.5},
        {"grow_threshold": "0.8"},
        {"shrink_threshold": None},
        {"idle_timeout": True},
        {"max_workers": "4"},
    ],
)
def test_non_numbers_are_type_errors(kwargs: dict[str, Any]) -> None:
    (name,) = kwargs
    with pytest.raises(TypeError, match=name):
        DynamicThreadPoolExecutor(**kwargs)


def test_defaults_and_attributes() -> None:
    executor = DynamicThreadPoolExecutor()
    assert executor.min_workers == 1
    assert executor.max_workers > executor.min_workers
    assert (executor.grow_threshold, executor.shrink_threshold) == (0.8, 0.4)
    assert executor.idle_timeout == 60.0
    assert (executor.num_workers, executor.queue_size, executor.get_num_idle_workers()) == (0, 0, 0)
    executor.maintain()
    assert executor.num_workers == 0
    executor.shutdown()
    executor.maintain()
    assert executor.num_workers == 0


def test_config_options_match_the_constructor() -> None:
    options = {opt.dest: opt for opt in DynamicThreadPoolExecutor.config_options()}
    assert set(options) == {
        "min_workers",
        "grow_threshold",
        "shrink_threshold",
        "idle_timeout",
        "thread_name_prefix",
    }
    assert all(opt.help for opt in options.values())
    defaults = {name: opt.default for name, opt in options.items()}
    executor = DynamicThreadPoolExecutor(max_workers=4, **defaults)
    assert executor.grow_threshold == defaults["grow_threshold"]
    executor.shutdown()
    conf = cfg.ConfigOpts()
    conf.register_opts(list(options.values()), group="pool")
    conf([])
    assert conf.pool.min_workers == 1
    with pytest.raises(ValueError, match="greater than or equal to 1"):
        conf.set_override("min_workers", 0, group="pool")
