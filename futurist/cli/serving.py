"""``futurist run --metrics-port``: a Prometheus endpoint for the executor while it runs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from futurist import metrics
from futurist.cli.settings import ConfigProblem
from futurist.executors.base import Executor
from futurist.extras import import_extra

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
        client = import_extra("prometheus_client", "--metrics-port needs", "prometheus")
    except ImportError as exc:
        raise ConfigProblem(str(exc)) from None
    registry = client.CollectorRegistry()
    metrics.instrument("prometheus", executor, registry=registry)
    try:
        server, thread = client.start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        raise ConfigProblem(f"cannot serve metrics on {host} port {port}: {exc}") from None
    notice(f"serving Prometheus metrics at http://{host}:{server.server_port}/metrics")
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
