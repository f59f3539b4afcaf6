"""Contract smoke test of the third-party kinds, each selected by name from a config file."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

import futurist
from futurist import metrics, plugins
from futurist.executors.base import Executor
from futurist.rejection import reject_when_reached
from tests.metrics.test_otel import _points
from tests.plugins.helpers import load_config, write_config

KINDS = ["fixture_serial", "fixture_plain"]


@pytest.fixture(params=KINDS)
def executor(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Executor]:
    extra = "max_workers = 1\n" if request.param == "fixture_plain" else ""
    conf = load_config(
        write_config(tmp_path, f"[third_party]\nexecutor = {request.param}\n{extra}")
    )
    built = plugins.from_config(conf, group="third_party")
    yield built
    built.shutdown(wait=True, cancel_futures=True)


def _fail() -> None:
    raise KeyError("boom")


def test_results_exceptions_and_statistics(executor: Executor) -> None:
    assert executor.submit(pow, 2, 10).result() == 1024
    with pytest.raises(KeyError, match="boom"):
        executor.submit(_fail).result()
    assert list(executor.map(abs, [-1, -2, 3])) == [1, 2, 3]
    stats = executor.statistics
    assert (stats.executed, stats.failures, stats.cancelled) == (5, 1, 0)
    with pytest.raises(TypeError, match="needs a callable"):
        executor.submit(42)  # type: ignore[arg-type]


def test_backlog_rejection_and_cancel_on_shutdown(executor: Executor) -> None:
    started, release = threading.Event(), threading.Event()
    backlogs: list[int] = []
    limit = reject_when_reached(2)

    def check(owner: object, backlog: int) -> None:
        backlogs.append(backlog)
        limit(owner, backlog)

    executor._check_and_reject = check

    def block() -> None:
        started.set()
        release.wait()

    running = executor.submit(block)
    started.wait()
    queued = [executor.submit(int, "1"), executor.submit(int, "2")]
    with pytest.raises(futurist.RejectedSubmission):
        executor.submit(int, "3")
    assert backlogs == [0, 0, 1, 2]
    releaser = threading.Thread(target=release.set)
    executor.shutdown(wait=False, cancel_futures=True)
    assert not executor.alive
    with pytest.raises(RuntimeError, match="shut down"):
        executor.submit(int, "4")
    releaser.start()
    executor.shutdown(wait=True)
    releaser.join()
    assert running.result() is None
    assert all(future.cancelled() for future in queued)
    assert executor.statistics.cancelled == 2
    assert executor.statistics.executed == 1


def test_shutdown_waits_for_accepted_work(executor: Executor) -> None:
    futures = [executor.submit(sum, range(n)) for n in range(20)]
    executor.shutdown(wait=True)
    assert all(future.done() for future in futures)
    assert executor.statistics.executed == 20


def test_shutdown_from_inside_a_task_does_not_deadlock(executor: Executor) -> None:
    def stop_own_executor() -> str:
        executor.shutdown(wait=True)
        return "stopped"

    assert executor.submit(stop_own_executor).result() == "stopped"
    assert not executor.alive


def _thread_name() -> str:
    return threading.current_thread().name


def test_a_wrapped_kind_goes_by_its_plugin_name_in_metrics_names_and_threads(
    tmp_path: Path,
) -> None:
    """A plain executor plugin is published as its plugin's name, never as ``wrapped``."""
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    conf = load_config(write_config(tmp_path, "[orders]\nexecutor = fixture_plain\n"))
    configured = plugins.from_config(conf, group="orders")
    created = plugins.create("fixture_plain", max_workers=1)
    named = plugins.create("fixture_plain", thread_name_prefix="own")
    with configured, created, named:
        for executor in (configured, created, named):
            metrics.instrument("otel", executor, meter_provider=provider)
        threads = [e.submit(_thread_name).result() for e in (configured, created, named)]
        points = _points(reader)
    assert re.fullmatch(r"fixture_plain-\d+", created.name)
    assert (configured.name, threads) == ("orders", ["orders_0", f"{created.name}_0", "own_0"])
    published = points["futurist.executor.call.executed"]
    assert {name: point[1]["futurist.executor.kind"] for name, point in published.items()} == {
        "orders": "fixture_plain",
        created.name: "fixture_plain",
        named.name: "fixture_plain",
    }
    assert configured.metrics.kind == created.kind == "fixture_plain"
