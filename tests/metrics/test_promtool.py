"""Every series futurist serves passes ``promtool check metrics``, scraped over real HTTP.

promtool comes from Debian's ``prometheus`` package, which ``make test`` installs; the test is
skipped, saying so, only where promtool cannot be found.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.metrics.endpoint import scrape

OPENMETRICS = "application/openmetrics-text; version=1.0.0"


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
