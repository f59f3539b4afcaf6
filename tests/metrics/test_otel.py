"""The OpenTelemetry backend, read through the SDK's in-memory reader after real work."""

from __future__ import annotations

import sys
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader

import futurist
from futurist import metrics
from futurist.metrics import BUCKETS

WAIT = 30.0


def fail() -> None:
    raise ValueError("boom")


def _points(reader: InMemoryMetricReader) -> dict[str, dict[str, Any]]:
    """Every data point collected now, by metric name and then executor name."""
    data = reader.get_metrics_data()
    assert data is not None
    found: dict[str, dict[str, Any]] = {}
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    attributes = dict(point.attributes or {})
                    name = str(attributes["futurist.executor.name"])
                    found.setdefault(metric.name, {})[name] = (point, attributes, metric.unit)
    return found


def _provider() -> tuple[MeterProvider, InMemoryMetricReader]:
    reader = InMemoryMetricReader()
    return MeterProvider(metric_readers=[reader]), reader


def test_one_executor_publishes_real_counts_and_histograms() -> None:
    provider, reader = _provider()
    with (
        futurist.ThreadPoolExecutor(max_workers=2, name="otel-pool") as executor,
        futurist.ThreadPoolExecutor(max_workers=1, name="not-instrumented") as other,
    ):
        metrics.instrument("otel", executor, meter_provider=provider)
        metrics.instrument("otel", executor, meter_provider=provider)
        futures: list[futurist.Future[Any]] = [executor.submit(pow, 2, n) for n in range(5)]
        futures.append(executor.submit(fail))
        other.submit(pow, 2, 2).result(WAIT)
        futurist.waiters.wait_for_all(futures, WAIT)
        assert futures[-1].exception() is not None
    points = _points(reader)
    executed, attributes, unit = points["futurist.executor.call.executed"]["otel-pool"]
    assert executed.value == 6
    assert attributes == {"futurist.executor.name": "otel-pool", "futurist.executor.kind": "thread"}
    assert unit == "{call}"
    assert points["futurist.executor.call.failed"]["otel-pool"][0].value == 1
    assert points["futurist.executor.worker.max"]["otel-pool"][0].value == 2
    assert points["futurist.executor.queue.length"]["otel-pool"][0].value == 0
    duration, _, unit = points["futurist.executor.call.duration"]["otel-pool"]
    assert isinstance(duration, HistogramDataPoint)
    assert unit == "s"
    assert duration.count == 6
    assert tuple(duration.explicit_bounds) == BUCKETS
    assert duration.sum == pytest.approx(executor.statistics.runtime)
    assert points["futurist.executor.call.wait_time"]["otel-pool"][0].count == 6
    assert all("not-instrumented" not in by_name for by_name in points.values())


def test_every_executor_includes_those_built_afterwards() -> None:
    provider, reader = _provider()
    metrics.instrument("otel", meter_provider=provider)
    with futurist.SynchronousExecutor(name="later") as executor:
        executor.submit(pow, 3, 2).result(WAIT)
        points = _points(reader)
    assert points["futurist.executor.call.executed"]["later"][0].value == 1
    assert points["futurist.executor.call.duration"]["later"][0].count == 1
    assert "later" not in points.get("futurist.executor.worker.max", {})


def test_an_unknown_backend_names_the_known_ones() -> None:
    expected = r"unknown metrics backend 'statsd'; the backends are otel, prometheus"
    with pytest.raises(ValueError, match=expected):
        metrics.instrument("statsd")


def test_a_missing_api_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry", None)
    with pytest.raises(ImportError, match=r"pip install opentelemetry-api"):
        metrics.instrument("otel")


def test_queue_capacity_and_core_workers_only_where_a_kind_has_them() -> None:
    provider, reader = _provider()
    with (
        futurist.DynamicThreadPoolExecutor(
            3, futurist.rejection.reject_when_reached(7), min_workers=1, name="bounded"
        ) as bounded,
        futurist.ThreadPoolExecutor(2, name="unbounded") as unbounded,
    ):
        metrics.instrument("otel", bounded, meter_provider=provider)
        metrics.instrument("otel", unbounded, meter_provider=provider)
        points = _points(reader)
    capacity = points["futurist.executor.queue.capacity"]
    assert list(capacity) == ["bounded"]
    point, attributes, unit = capacity["bounded"]
    assert (point.value, unit) == (7, "{call}")
    assert attributes == {
        "futurist.executor.name": "bounded",
        "futurist.executor.kind": "thread_dynamic",
    }
    core = points["futurist.executor.worker.core"]
    assert list(core) == ["bounded"]
    assert (core["bounded"][0].value, core["bounded"][2]) == (1, "{worker}")
