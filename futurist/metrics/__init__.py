"""Live executor figures and the backends that publish them (OpenTelemetry, Prometheus).

Every executor keeps its figures (:attr:`Executor.metrics <futurist.executors.base.Executor>`)
at all times; a backend only reads them. :func:`instrument` publishes one executor, or every
executor futurist builds, through a backend chosen by name; the backend's package is an extra
(``futurist[otel]``, ``futurist[prometheus]``), imported only when asked for.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from futurist.metrics._histogram import BUCKETS, Histogram

if TYPE_CHECKING:
    import futurist.statistics
    from futurist.executors.base import Executor

__all__ = ["BACKENDS", "BUCKETS", "ExecutorMetrics", "Histogram", "instrument"]

BACKENDS = {"otel": "futurist.metrics.otel", "prometheus": "futurist.metrics.prometheus"}
"""The backends :func:`instrument` knows, by name, and the module of each."""


@dataclass(frozen=True, slots=True)
class ExecutorMetrics:
    """An executor's figures at one moment: its statistics and the live figures beside them.

    ``queued`` calls wait for a worker (the backlog ``check_and_reject`` sees); ``running``
    calls run now; ``workers`` is how many workers the executor has and ``max_workers`` its
    limit (None for kinds without one); ``rejected`` counts submissions ``check_and_reject``
    refused. ``run_time`` and ``queue_wait`` are the distributions of the calls' run times and
    of how long each waited between acceptance and start; ``queue_wait.sum`` is the total wait.
    """

    name: str
    kind: str
    statistics: futurist.statistics.ExecutorStatistics
    queued: int
    running: int
    workers: int
    max_workers: int | None
    rejected: int
    run_time: Histogram
    queue_wait: Histogram


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
