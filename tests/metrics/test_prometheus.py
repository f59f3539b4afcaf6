"""The Prometheus backend, scraped over HTTP from a real metrics server on 127.0.0.1."""

from __future__ import annotations

import sys
import threading
import urllib.request
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

import futurist
from futurist import metrics

WAIT = 30.0


def _scrape(url: str) -> dict[tuple[str, str], list[Any]]:
    """Samples by (sample name, executor label), from one real scrape."""
    with urllib.request.urlopen(url, timeout=WAIT) as response:
        text = response.read().decode()
    samples: dict[tuple[str, str], list[Any]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            key = (sample.name, sample.labels.get("executor", ""))
            samples.setdefault(key, []).append(sample)
    return samples


def fail() -> None:
    raise ValueError("boom")


def test_a_scrape_shows_counters_gauges_and_histograms(
    registry_url: tuple[CollectorRegistry, str],
) -> None:
    registry, url = registry_url
    refusing = threading.Event()

    def refuse_when_told(executor: Any, backlog: int) -> None:
        if refusing.is_set():
            raise futurist.RejectedSubmission("told to refuse")

    with futurist.ThreadPoolExecutor(3, refuse_when_told, name="scraped") as executor:
        metrics.instrument("prometheus", executor, registry=registry)
        metrics.instrument("prometheus", executor, registry=registry)
        futures = [executor.submit(pow, 2, n) for n in range(4)]
        failed = executor.submit(fail)
        assert [f.result(WAIT) for f in futures] == [1, 2, 4, 8]
        assert isinstance(failed.exception(WAIT), ValueError)
        refusing.set()
        with pytest.raises(futurist.RejectedSubmission):
            executor.submit(pow, 2, 9)
        samples = _scrape(url)
    (executed,) = samples["futurist_executor_call_executed_total", "scraped"]
    assert executed.value == 5
    assert executed.labels == {"executor": "scraped", "kind": "thread"}
    assert samples["futurist_executor_call_failed_total", "scraped"][0].value == 1
    assert samples["futurist_executor_call_rejected_total", "scraped"][0].value == 1
    assert samples["futurist_executor_worker_max", "scraped"][0].value == 3
    assert samples["futurist_executor_queue_length", "scraped"][0].value == 0
    buckets = samples["futurist_executor_call_duration_seconds_bucket", "scraped"]
    assert [b.labels["le"] for b in buckets][-1] == "+Inf"
    assert len(buckets) == len(metrics.BUCKETS) + 1
    assert buckets[-1].value == 5
    assert [b.value for b in buckets] == sorted(b.value for b in buckets)
    (count,) = samples["futurist_executor_call_wait_time_seconds_count", "scraped"]
    assert count.value == 5
    (runtime,) = samples["futurist_executor_call_duration_seconds_sum", "scraped"]
    assert runtime.value == pytest.approx(executor.statistics.runtime)


def test_every_executor_is_scraped_by_name(registry_url: tuple[CollectorRegistry, str]) -> None:
    registry, url = registry_url
    metrics.instrument("prometheus", registry=registry)
    built = [futurist.SynchronousExecutor(name=f"sync-{n}") for n in range(3)]
    for executor in built:
        executor.submit(pow, 2, 2).result(WAIT)
    samples = _scrape(url)
    for executor in built:
        assert samples["futurist_executor_call_executed_total", executor.name][0].value == 1
        executor.shutdown()


def test_a_missing_client_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "prometheus_client", None)
    with pytest.raises(ImportError, match=r"pip install prometheus_client"):
        metrics.instrument("prometheus")


def test_queue_capacity_and_core_workers_only_where_a_kind_has_them(
    registry_url: tuple[CollectorRegistry, str],
) -> None:
    """As OpenTelemetry's ``jvm.executor.*`` and Micrometer do: a bounded backlog publishes its
    capacity, a pool with a core size publishes it, and the unbounded publish nothing."""
    registry, url = registry_url
    with (
        futurist.ThreadPoolExecutor(
            2, futurist.rejection.reject_when_reached(5), name="rejecting"
        ) as rejecting,
        futurist.DynamicThreadPoolExecutor(
            4, futurist.rejection.wait_when_reached(3), min_workers=2, name="waiting"
        ) as waiting,
        futurist.ThreadPoolExecutor(2, lambda executor, backlog: None, name="own") as own,
        futurist.ThreadPoolExecutor(2, name="unbounded") as unbounded,
    ):
        for executor in (rejecting, waiting, own, unbounded):
            metrics.instrument("prometheus", executor, registry=registry)
        samples = _scrape(url)
    capacity = {
        name: found[0].value
        for (sample, name), found in samples.items()
        if sample == "futurist_executor_queue_capacity"
    }
    assert capacity == {"rejecting": 5, "waiting": 3}
    core = {
        name: found[0].value
        for (sample, name), found in samples.items()
        if sample == "futurist_executor_worker_core"
    }
    assert core == {"waiting": 2}
    assert samples["futurist_executor_worker_max", "waiting"][0].value == 4
