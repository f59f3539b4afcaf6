"""A real Prometheus endpoint on 127.0.0.1 serving several kinds' figures, and its scrape."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

import prometheus_client

from futurist import plugins
from futurist.executors.base import Executor
from futurist.metrics import prometheus
from futurist.rejection import reject_when_reached

TIMEOUT = 30


@contextmanager
def serving() -> Iterator[str]:
    """The URL of an endpoint serving four kinds' figures after one call each, while it runs."""
    registry = prometheus_client.CollectorRegistry()
    executors: list[Executor] = [
        plugins.create("thread", max_workers=2, check_and_reject=reject_when_reached(4)),
        plugins.create("thread_dynamic"),
        plugins.create("synchronous"),
        plugins.create("fixture_serial"),
    ]
    server, thread = prometheus_client.start_http_server(0, "127.0.0.1", registry)
    try:
        for executor in executors:
            prometheus.instrument(executor, registry=registry)
            executor.submit(pow, 2, 8).result(timeout=TIMEOUT)
        yield f"http://127.0.0.1:{server.server_port}/metrics"
    finally:
        server.shutdown()
        thread.join(TIMEOUT)
        for executor in executors:
            executor.shutdown()


def scrape(url: str, accept: str | None = None) -> str:
    """The body of one GET of ``url``."""
    request = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
        return str(response.read().decode())
