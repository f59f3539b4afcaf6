"""Publish executor figures to Prometheus (futurist's ``prometheus`` extra).

A ``prometheus_client`` collector reads :attr:`~futurist.executors.base.Executor.metrics` of the
executors it covers at each scrape and exposes them as ``futurist_executor_*`` families: counters
end in ``_total``, durations are in seconds, and every sample has the labels ``executor`` (the name)
and ``kind``."""

from __future__ import annotations

import importlib
import itertools
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from futurist.extras import import_extra
from futurist.metrics import BUCKETS
from futurist.metrics._catalog import FIGURES, HISTOGRAMS, Selection

if TYPE_CHECKING:
    from futurist.executors.base import Executor

__all__ = ["ExecutorCollector", "instrument"]

LABELS = ("executor", "kind")
_SECONDS = "seconds"
"""The unit of every histogram: OpenMetrics output carries it as ``# UNIT``."""
_LE = (*(repr(bound) for bound in BUCKETS), "+Inf")
"""The ``le`` label of each bucket, the last one unbounded."""


def _client() -> Any:
    """The ``prometheus_client`` module, or an ImportError saying what to install."""
    import_extra("prometheus_client.core", "the 'prometheus' metrics backend needs", "prometheus")
    return importlib.import_module("prometheus_client")


class ExecutorCollector:
    """A ``prometheus_client`` collector of the figures of the executors it covers."""

    def __init__(self) -> None:
        self.selection = Selection()

    def describe(self) -> list[Any]:
        """No families up front: what exists depends on the executors alive at a scrape."""
        return []

    def collect(self) -> Iterator[Any]:
        """One family per figure, one sample (or histogram) per covered executor."""
        core = _client().core
        snapshots = self.selection.snapshots()
        for figure in FIGURES:
            family_class = (
                core.CounterMetricFamily if figure.type == "counter" else core.GaugeMetricFamily
            )
            family = family_class(figure.prometheus, figure.description, labels=LABELS)
            for metrics in snapshots:
                value = figure.read(metrics)
                if value is not None:
                    family.add_metric((metrics.name, metrics.kind), value)
            yield family
        for histogram in HISTOGRAMS:
            family = core.HistogramMetricFamily(
                histogram.prometheus, histogram.description, labels=LABELS, unit=_SECONDS
            )
            for metrics in snapshots:
                values = histogram.read(metrics)
                buckets = list(zip(_LE, itertools.accumulate(values.counts), strict=True))
                family.add_metric((metrics.name, metrics.kind), buckets, values.sum)
            yield family


_collectors: dict[int, tuple[Any, ExecutorCollector]] = {}
_lock = threading.Lock()


def instrument(executor: Executor | None = None, *, registry: Any = None) -> None:
    """Expose ``executor``'s figures (every executor's when None) in ``registry``.

    ``registry`` defaults to ``prometheus_client.REGISTRY``, which ``start_http_server`` serves.
    Calling it again for an executor already covered in that registry changes nothing.
    """
    client = _client()
    target = registry if registry is not None else client.REGISTRY
    with _lock:
        known = _collectors.get(id(target))
        if known is None or known[0] is not target:
            known = (target, ExecutorCollector())
            target.register(known[1])
            _collectors[id(target)] = known
    known[1].selection.add(executor)
