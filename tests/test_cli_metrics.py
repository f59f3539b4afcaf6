"""``futurist run --metrics-port``: a real scrape of the running command, and queue wait shown."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.test_cli import HIDE, TIMEOUT, as_json, config_file, environment, futurist


def metrics_url(process: subprocess.Popen[str]) -> str:
    """The URL a ``futurist run --metrics-port`` says on stderr that it serves."""
    assert process.stderr is not None
    for line in process.stderr:
        found = re.search(r"serving Prometheus metrics at (http://\S+)", line)
        if found:
            return found.group(1)
    raise AssertionError("the command never said where it serves its metrics")


def test_the_running_command_serves_its_executor_s_metrics(tmp_path: Path) -> None:
    path = config_file(tmp_path, "[pool]\nexecutor = thread\nmax_workers = 1\n")
    command = [sys.executable, "-m", "futurist", "run", "--config-file", path, "--group", "pool"]
    command += ["--tasks", "1000000", "--work", "sleep:0.01", "--metrics-port", "0", "--json"]
    process = subprocess.Popen(
        command, cwd=tmp_path, env=environment(), stderr=subprocess.PIPE, text=True
    )
    try:
        with urllib.request.urlopen(metrics_url(process), timeout=TIMEOUT) as response:
            families = {f.name: f for f in text_string_to_metric_families(response.read().decode())}
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=TIMEOUT)
    (limit,) = families["futurist_executor_worker_max"].samples
    assert limit.labels == {"executor": "pool", "kind": "thread"}
    assert limit.value == 1
    assert "futurist_executor_call_wait_time_seconds" in families
    assert process.returncode == 130


def test_run_reports_queue_wait_apart_from_runtime(tmp_path: Path) -> None:
    path = config_file(tmp_path, "[futurist]\nexecutor = thread\nmax_workers = 1\n")
    result = futurist(
        "run", "--config-file", path, "--tasks", "5", "--work", "sleep:0.01", "--json", cwd=tmp_path
    )
    report = as_json(result)
    assert report["queue_wait"] > 0
    assert report["average_queue_wait"] == report["queue_wait"] / 5
    assert report["runtime"] >= 5 * 0.01


def test_metrics_port_without_prometheus_client_says_what_to_install(tmp_path: Path) -> None:
    path = config_file(tmp_path, "[futurist]\nexecutor = thread\n")
    hide = HIDE.format(modules=["prometheus_client"])
    result = futurist(
        "run", "--config-file", path, "--tasks", "1", "--metrics-port", "0", cwd=tmp_path,
        python=("-c", hide),
    )  # fmt: skip
    assert result.returncode == 2
    assert "pip install prometheus_client (futurist's prometheus extra)" in result.stderr


def test_the_cli_page_names_every_field_of_run_json(tmp_path: Path) -> None:
    page = (Path(__file__).parents[1] / "docs" / "cli.rst").read_text()
    paragraph = page.split("``--json`` shows no progress and prints one object:", 1)[1]
    paragraph = paragraph.split("\n\n", 1)[0]
    documented = set(re.findall(r"``(\w+)``", paragraph))
    path = config_file(tmp_path, "[futurist]\nexecutor = thread\n")
    arguments = ("run", "--config-file", path, "--tasks", "2", "--priorities", "0:1,5:1")
    report = as_json(futurist(*arguments, "--json", cwd=tmp_path))
    assert set(report) <= documented
    assert set(report["priorities"]["5"]) <= documented
