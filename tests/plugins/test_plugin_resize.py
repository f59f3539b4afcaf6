"""Live resizing: ThreadPoolExecutor.max_workers assignment and mutate_config_files."""

from __future__ import annotations

import gc
import threading
import weakref
from concurrent.futures import Future
from pathlib import Path

import pytest

import futurist
from futurist import plugins
from tests.plugins.helpers import load_config, write_config


class Gate:
    """Tasks that block until released, counting how many run at once."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.running = 0
        self.most = 0
        self.changed = threading.Condition(self.lock)

    def task(self) -> str:
        with self.changed:
            self.running += 1
            self.most = max(self.most, self.running)
            self.changed.notify_all()
        self.release.wait()
        with self.changed:
            self.running -= 1
        return threading.current_thread().name

    def wait_running(self, count: int) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: self.running == count, timeout=30)


def _wait_workers(executor: futurist.ThreadPoolExecutor, count: int) -> None:
    """Join threads until only ``count`` workers are alive (retiring threads exit on their own)."""
    while executor.num_workers > count:
        for thread in list(executor._pool.threads):
            thread.join(timeout=0.05)


def test_growing_starts_threads_for_queued_work() -> None:
    gate = Gate()
    with futurist.ThreadPoolExecutor(max_workers=1) as executor:
        futures = [executor.submit(gate.task) for _ in range(4)]
        gate.wait_running(1)
        assert executor.queue_size == 3
        executor.max_workers = 4
        gate.wait_running(4)
        assert executor.num_workers == 4
        gate.release.set()
        assert len({f.result() for f in futures}) == 4
    assert gate.most == 4


def test_growing_an_idle_pool_starts_no_thread_until_work_comes() -> None:
    with futurist.ThreadPoolExecutor(max_workers=1) as executor:
        executor.max_workers = 8
        assert executor.num_workers == 0
        assert executor.submit(int, "5").result() == 5


def test_shrinking_keeps_queued_work_and_retires_surplus_threads() -> None:
    gate = Gate()
    executor = futurist.ThreadPoolExecutor(max_workers=4)
    try:
        futures: list[Future[str]] = [executor.submit(gate.task) for _ in range(4)]
        gate.wait_running(4)
        queued = [executor.submit(gate.task) for _ in range(6)]
        executor.max_workers = 1
        assert executor.max_workers == 1
        assert executor.queue_size == 6
        gate.release.set()
        for future in futures + queued:
            future.result()
        assert executor.statistics.executed == 10
        _wait_workers(executor, 1)
        assert executor.num_workers == 1
        assert executor._pool.retiring == 0
    finally:
        executor.shutdown()


def test_shrinking_an_idle_pool_retires_idle_threads() -> None:
    gate = Gate()
    executor = futurist.ThreadPoolExecutor(max_workers=3)
    try:
        futures = [executor.submit(gate.task) for _ in range(3)]
        gate.wait_running(3)
        gate.release.set()
        for future in futures:
            future.result()
        executor.max_workers = 1
        _wait_workers(executor, 1)
        assert executor.num_workers == 1
        assert executor.queue_size == 0
        # The survivor still serves work, and the pool regrows up to the new limit only.
        again = Gate()
        more = [executor.submit(again.task) for _ in range(3)]
        again.wait_running(1)
        again.release.set()
        for future in more:
            future.result()
        assert again.most == 1
    finally:
        executor.shutdown()


@pytest.mark.parametrize("bad", [0, -1, "2", 1.5, True])
def test_bad_size_is_refused_naming_max_workers(bad: object) -> None:
    with futurist.ThreadPoolExecutor(max_workers=2) as executor:
        with pytest.raises((TypeError, ValueError), match="max_workers"):
            executor.max_workers = bad  # type: ignore[assignment]
        assert executor.max_workers == 2


def test_mutate_config_files_resizes_a_pool_built_from_config(tmp_path: Path) -> None:
    path = write_config(tmp_path, "[futurist]\nmax_workers = 1\n")
    conf = load_config(path)
    gate = Gate()
    executor = plugins.from_config(conf)
    try:
        assert isinstance(executor, futurist.ThreadPoolExecutor)
        futures = [executor.submit(gate.task) for _ in range(3)]
        gate.wait_running(1)
        path.write_text("[futurist]\nmax_workers = 3\n")
        changed = conf.mutate_config_files()
        assert changed[("futurist", "max_workers")] == ("1", "3")
        assert executor.max_workers == 3
        gate.wait_running(3)
        gate.release.set()
        for future in futures:
            future.result()
        # Removing the option returns the pool to the size it was built with.
        path.write_text("[futurist]\n")
        conf.mutate_config_files()
        assert executor.max_workers == 1
    finally:
        gate.release.set()
        executor.shutdown()


def test_mutation_of_another_group_leaves_the_pool_alone(tmp_path: Path) -> None:
    path = write_config(tmp_path, "[a]\nmax_workers = 2\n[b]\nmax_workers = 2\n")
    conf = load_config(path)
    first = plugins.from_config(conf, group="a")
    second = plugins.from_config(conf, group="b")
    try:
        path.write_text("[a]\nmax_workers = 2\n[b]\nmax_workers = 5\n")
        conf.mutate_config_files()
        assert first.max_workers == 2  # type: ignore[attr-defined]
        assert second.max_workers == 5  # type: ignore[attr-defined]
    finally:
        first.shutdown()
        second.shutdown()


def test_a_bad_new_size_keeps_the_old_one(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = write_config(tmp_path, "[futurist]\nmax_workers = 2\n")
    conf = load_config(path)
    with plugins.from_config(conf) as executor:
        path.write_text("[futurist]\nmax_workers = 0\n")
        conf.mutate_config_files()
        assert executor.max_workers == 2  # type: ignore[attr-defined]
        assert "not resizing the [futurist] executors" in caplog.text


def test_executors_are_held_weakly_by_the_hook(tmp_path: Path) -> None:
    path = write_config(tmp_path, "[futurist]\nmax_workers = 2\n")
    conf = load_config(path)
    executor = plugins.from_config(conf)
    executor.shutdown()
    collected = weakref.ref(executor)
    del executor
    gc.collect()
    assert collected() is None
    survivor = plugins.from_config(conf)
    with survivor:
        path.write_text("[futurist]\nmax_workers = 4\n")
        assert conf.mutate_config_files()[("futurist", "max_workers")] == ("2", "4")
        assert survivor.max_workers == 4  # type: ignore[attr-defined]


def test_mutate_config_files_resizes_a_dynamic_pool(tmp_path: Path) -> None:
    path = write_config(tmp_path, "[futurist]\nexecutor = thread_dynamic\nmax_workers = 2\n")
    conf = load_config(path)
    gate = Gate()
    executor = plugins.from_config(conf)
    try:
        assert isinstance(executor, futurist.DynamicThreadPoolExecutor)
        futures = [executor.submit(gate.task) for _ in range(4)]
        gate.wait_running(2)
        assert executor.queue_size == 2
        path.write_text("[futurist]\nexecutor = thread_dynamic\nmax_workers = 4\n")
        conf.mutate_config_files()
        assert executor.max_workers == 4
        gate.wait_running(4)
        gate.release.set()
        assert all(future.result(30) for future in futures)
        path.write_text("[futurist]\nexecutor = thread_dynamic\nmax_workers = 2\n")
        conf.mutate_config_files()
        assert executor.max_workers == 2
        # Idle now, the pool also shrinks below the new bound (to min_workers) as it should.
        _wait_workers(executor, 2)
        assert executor.num_workers <= 2
    finally:
        gate.release.set()
        executor.shutdown()


def test_a_dynamic_pool_refuses_a_size_at_or_below_min_workers() -> None:
    with futurist.DynamicThreadPoolExecutor(max_workers=4, min_workers=2) as executor:
        with pytest.raises(ValueError, match="max_workers must be greater than min_workers=2"):
            executor.max_workers = 2
        assert executor.max_workers == 4


def test_a_refused_resize_is_logged_and_the_other_groups_still_resize(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    dynamic = "executor = thread_dynamic\nmin_workers = 3\n"
    path = write_config(tmp_path, f"[a]\n{dynamic}max_workers = 4\n[b]\nmax_workers = 2\n")
    conf = load_config(path)
    first = plugins.from_config(conf, group="a")
    second = plugins.from_config(conf, group="b")
    try:
        # Valid for oslo.config, refused by the pool: max_workers must exceed min_workers.
        path.write_text(f"[a]\n{dynamic}max_workers = 3\n[b]\nmax_workers = 5\n")
        changed = conf.mutate_config_files()
        assert changed[("a", "max_workers")] == ("4", "3")
        assert first.max_workers == 4  # type: ignore[attr-defined]
        assert second.max_workers == 5  # type: ignore[attr-defined]
        assert "could not resize" in caplog.text
        assert "of [a] to max_workers=3; it keeps max_workers=4" in caplog.text
        assert "must be greater than min_workers=3" in caplog.text
    finally:
        first.shutdown()
        second.shutdown()
