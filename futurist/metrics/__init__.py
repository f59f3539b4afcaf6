"""Live executor figures and the backends that publish them (OpenTelemetry, Prometheus).

Every executor keeps its figures (:attr:`Executor.metrics <futurist.executors.base.Executor>`)
at all times; a backend only reads them. :func:`instrument` publishes one executor, or every
executor futurist builds, through a backend chosen by name; the backend's package is an extra
(``futurist[otel]``, ``futurist[prometheus]``), imported only when asked for.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from futurist.figures import BUCKETS, ExecutorMetrics, Histogram

if TYPE_CHECKING:
    from futurist.executors.base import Executor

__all__ = ["BACKENDS", "BUCKETS", "ExecutorMetrics", "Histogram", "instrument"]

BACKENDS = {"otel": "futurist.metrics.otel", "prometheus": "futurist.metrics.prometheus"}
"""The backends :func:`instrument` knows, by name, and the module of each."""


def instrument(backend: str, executor: Executor | None = None, **options: Any) -> None:
    """Publish ``executor`` (every executor futurist builds when None) through ``backend``.

    ``backend`` is ``"otel"`` (option ``meter_provider``) or ``"prometheus"`` (option
    ``registry``). Raises ``ValueError`` for an unknown backend and ``ImportError`` saying what
    to ``pip install`` when the backend's package is missing. Instrumenting twice is harmless.
    """
    module = BACKENDS.get(backend)
    if module is None:
        raise ValueError(
            f"unknown metrics backend {backend!r}; the backends are {', '.join(sorted(BACKENDS))}"
        )
    importlib.import_module(module).instrument(executor, **options)
