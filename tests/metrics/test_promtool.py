"""Every series futurist serves passes ``promtool check metrics``, scraped over real HTTP.

promtool comes from Debian's ``prometheus`` package, which ``make test`` installs; the test is
skipped, saying so, only where promtool cannot be found.
"""

from __future__ import annotations

import shutil
import subprocess
import urllib.request
from collections.abc import Iterator

import prometheus_client
import pytest

from futurist import plugins
from futurist.executors.base import Executor
from futurist.metrics import prometheus
from futurist.rejection import reject_when_reached

TIMEOUT = 30
OPENMETRICS = "application/openmetrics-text; version=1.0.0"


@pytest.fixture
def url() -> Iterator[str]:
    """A real endpoint on 127.0.0.1 serving several kinds' figures, after some calls."""
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
    request = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
        return str(response.read().decode())


def test_every_series_passes_promtool(url: str) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not found: install Debian's prometheus package (make test does)")
    text = scrape(url)
    assert "futurist_executor_workers{" in text
    checked = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_openmetrics_output_carries_the_unit_of_each_histogram(url: str) -> None:
    text = scrape(url, OPENMETRICS)
    units = sorted(line for line in text.splitlines() if line.startswith("# UNIT"))
    assert units == [
        "# UNIT futurist_executor_call_duration_seconds seconds",
        "# UNIT futurist_executor_call_wait_time_seconds seconds",
    ]
    assert "_count{" not in text.replace("_seconds_count{", "")
