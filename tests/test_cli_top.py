"""``futurist top``: against a real ``futurist run --metrics-port``, a real in-process endpoint,
and under tmux, where the refreshing screen is read as a person sees it."""

from __future__ import annotations

import http.server
import math
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import prometheus_client
import pytest

import futurist
from futurist import metrics
from futurist.cli.activity import quantile
from tests.test_cli import HIDE, TIMEOUT, config_file, environment
from tests.test_cli import futurist as command
from tests.test_cli_metrics import metrics_url

POLL = 0.05
"""Seconds between two looks at the tmux screen while waiting for what it should show."""


@pytest.fixture
def service_url(tmp_path: Path) -> Iterator[str]:
    """The metrics URL of a real ``futurist run`` whose one worker has a long queue."""
    path = config_file(tmp_path, "[pool]\nexecutor = thread\nmax_workers = 1\n")
    arguments = ["run", "--config-file", path, "--group", "pool", "--tasks", "1000000"]
    arguments += ["--work", "sleep:0.01", "--metrics-port", "0", "--json"]
    process = subprocess.Popen(
        [sys.executable, "-m", "futurist", *arguments],
        cwd=tmp_path,
        env=environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield metrics_url(process)
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=TIMEOUT)


def table_rows(output: str) -> dict[str, list[str]]:
    """The cells of each executor's line of ``futurist top``, by executor name."""
    lines = output.splitlines()
    header = next(number for number, line in enumerate(lines) if line.startswith("executor"))
    rows = {}
    for line in lines[header + 2 :]:
        if line.startswith("sorted by"):
            break
        cells = re.split(r"\s{2,}", line.strip())
        rows[cells[0]] = cells
    return rows


def test_once_shows_the_executor_of_a_running_service(service_url: str, tmp_path: Path) -> None:
    result = command("top", service_url, "--once", "--interval", "0.2", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"futurist top: {service_url}, refresh 1, 1 executors" in result.stdout
    assert result.stdout.splitlines()[1].split() == [
        "executor", "kind", "queue", "active", "workers", "calls/s",
        "wait", "p50", "wait", "p99", "run", "p50", "run", "p99", "failed",
    ]  # fmt: skip
    (row,) = table_rows(result.stdout).values()
    assert row[:2] == ["pool", "thread"]
    assert row[4] in {"0/1", "1/1"}
    assert float(row[5].replace(",", "")) >= 0
    assert row[10] == "0"


def test_executors_are_sorted_by_queue_length_with_their_gauges_and_failures(
    registry_url: tuple[prometheus_client.CollectorRegistry, str], tmp_path: Path
) -> None:
    registry, url = registry_url
    started, release = threading.Event(), threading.Event()

    def hold() -> None:
        started.set()
        release.wait(TIMEOUT)

    with (
        futurist.ThreadPoolExecutor(2, name="idle") as idle,
        futurist.ThreadPoolExecutor(
            1, futurist.rejection.reject_when_reached(5), name="busy"
        ) as busy,
    ):
        for executor in (idle, busy):
            metrics.instrument("prometheus", executor, registry=registry)
        idle.submit(math.sqrt, -1).exception(timeout=TIMEOUT)
        busy.submit(hold)
        started.wait(TIMEOUT)
        for _ in range(3):
            busy.submit(pow, 2, 2)
        try:
            result = command("top", url, "--once", "--interval", "0.1", cwd=tmp_path)
        finally:
            release.set()
    assert result.returncode == 0, result.stderr
    rows = table_rows(result.stdout)
    assert list(rows) == ["busy", "idle"]
    assert rows["busy"][1:5] == ["thread", "3/5", "1", "1/1"]
    assert rows["idle"][1:5] == ["thread", "0", "0", "1/2"]
    assert rows["idle"][-1] == "1"


def test_percentiles_are_estimated_within_buckets_as_prometheus_does() -> None:
    buckets = ((0.1, 2.0), (0.5, 6.0), (math.inf, 10.0))
    assert quantile(0.5, buckets) == pytest.approx(0.4)
    assert quantile(0.1, buckets) == pytest.approx(0.05)
    assert quantile(0.99, buckets) == 0.5
    assert quantile(0.5, ((0.1, 0.0), (math.inf, 0.0))) is None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_url_is_one_line_and_exit_2(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/metrics"
    result = command("top", url, "--once", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith(f"futurist: cannot reach {url}: ")
    assert "Traceback" not in result.stderr


def test_an_endpoint_without_futurist_metrics_says_so(
    registry_url: tuple[prometheus_client.CollectorRegistry, str], tmp_path: Path
) -> None:
    registry, url = registry_url
    prometheus_client.Counter("requests", "Requests served.", registry=registry).inc()
    result = command("top", url, "--once", "--interval", "0.1", cwd=tmp_path)
    assert result.returncode == 2
    assert f"futurist: {url} serves no futurist metrics (no futurist_executor_* series)" in (
        result.stderr
    )


class _Page(http.server.BaseHTTPRequestHandler):
    """Answers every GET with an HTML page, as a URL that is not a metrics endpoint does."""

    def do_GET(self) -> None:
        body = b"<!DOCTYPE html>\n<html><body>a dashboard</body></html>\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Nothing on stderr."""


def test_a_page_that_is_not_prometheus_text_says_what_url_to_give(tmp_path: Path) -> None:
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Page) as server:
        thread = threading.Thread(target=server.serve_forever)
        thread.start()
        try:
            url = f"http://127.0.0.1:{server.server_port}/"
            result = command("top", url, "--once", cwd=tmp_path)
        finally:
            server.shutdown()
            thread.join(TIMEOUT)
    assert result.returncode == 2
    assert result.stderr.startswith(f"futurist: {url} does not serve the Prometheus text format")
    assert "such as the one futurist run --metrics-port prints" in result.stderr


def test_the_interval_must_be_positive(tmp_path: Path) -> None:
    result = command("top", "http://127.0.0.1:9/metrics", "--interval", "0", cwd=tmp_path)
    assert result.returncode == 2
    assert "argument --interval: must be a finite number of seconds > 0, got '0'" in result.stderr


def test_without_prometheus_client_it_says_what_to_install(tmp_path: Path) -> None:
    hide = HIDE.format(modules=["prometheus_client"])
    result = command(
        "top", "http://127.0.0.1:9/metrics", "--once", cwd=tmp_path, python=("-c", hide)
    )
    assert result.returncode == 2
    assert result.stderr == (
        "futurist: futurist top needs prometheus_client, which is not installed; install it "
        "with: pip install prometheus_client (futurist's prometheus extra)\n"
    )


class Screen:
    """A detached tmux session of 100 x 30 on a server of its own, read with capture-pane."""

    def __init__(self, tmux: str, cwd: Path) -> None:
        self._tmux = [tmux, "-L", f"futurist-top-{os.getpid()}", "-f", "/dev/null"]
        env = environment()
        env.pop("TMUX", None)
        self._run("new-session", "-d", "-s", "top", "-x", "100", "-y", "30", "sh", cwd=cwd, env=env)

    def _run(self, *arguments: str, **options: object) -> str:
        done = subprocess.run(
            [*self._tmux, *arguments],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=True,
            **options,  # type: ignore[call-overload]
        )
        return str(done.stdout)

    def type(self, *keys: str) -> None:
        self._run("send-keys", "-t", "top", *keys)

    def wait_for(self, pattern: str) -> str:
        """The screen once ``pattern`` (a regular expression) appears on it."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            screen = self._run("capture-pane", "-p", "-t", "top")
            if re.search(pattern, screen):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"the screen never showed {pattern!r}:\n{screen}")
            time.sleep(POLL)

    def close(self) -> None:
        self._run("kill-server")


def test_the_live_screen_refreshes_and_ctrl_c_quits_with_exit_0(
    service_url: str, tmp_path: Path
) -> None:
    tmux = shutil.which("tmux")
    if tmux is None:
        pytest.skip("tmux not found: the live screen is tested under tmux (apt-get install tmux)")
    screen = Screen(tmux, tmp_path)
    try:
        line = shlex.join(
            [sys.executable, "-m", "futurist", "top", service_url, "--interval", "0.2"]
        )
        screen.type(line, "Enter")
        # The screen may refresh several times between two captures on a loaded machine: wait
        # for any refresh, then for a later one.
        first = screen.wait_for(r"refresh \d+, 1 executors")
        assert re.search(r"^pool +thread +[\d,]+ +[01] +[01]/1 ", first, re.MULTILINE), first
        seen = int(re.findall(r"refresh (\d+), 1 executors", first)[0])
        later = screen.wait_for(rf"refresh (?!{seen},)\d+, 1 executors")
        assert "Ctrl-C quits" in later
        assert later.count("futurist top:") == 1, later
        screen.type("C-c")
        screen.type("echo exit status $?", "Enter")
        final = screen.wait_for(r"(?m)exit status \d+$")
        assert "exit status 0" in final
        assert "Traceback" not in final
    finally:
        screen.close()
