"""``futurist run --metrics-port``: a Prometheus endpoint for the executor while it runs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from futurist import metrics
from futurist._cli.settings import ConfigProblem
from futurist.executors.base import Executor

__all__ = ["serving_metrics"]


@contextmanager
def serving_metrics(
    executor: Executor, port: int | None, host: str, notice: Callable[[str], None]
) -> Iterator[None]:
    """Serve ``executor``'s figures at ``http://host:port/metrics`` (no server if ``port`` is
    None; 0 picks a free port, which ``notice`` is told) until the block ends."""
    if port is None:
        yield
        return
    try:
        from prometheus_client import CollectorRegistry, start_http_server

        registry = CollectorRegistry()
        metrics.instrument("prometheus", executor, registry=registry)
    except ImportError:
        raise ConfigProblem(
            "--metrics-port needs prometheus_client: "
            "pip install prometheus_client (futurist's prometheus extra)"
        ) from None
    try:
        server, thread = start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        raise ConfigProblem(f"cannot serve metrics on {host} port {port}: {exc}") from None
    notice(f"serving Prometheus metrics at http://{host}:{server.server_port}/metrics")
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
